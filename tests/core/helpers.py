from __future__ import annotations

import os
import sys

from mapstore_core import MapObjectStore, StoreEvent


def here(offset: int = 0) -> str:
    """``path:line`` of the caller's line (plus ``offset``), as mapstore records it."""
    frame = sys._getframe(1)
    path = os.path.relpath(frame.f_code.co_filename, os.getcwd())
    return f"{path}:{frame.f_lineno + offset}"


def collect_events(store: MapObjectStore) -> list[StoreEvent]:
    """Subscribe a list to the store's events and return it."""
    seen: list[StoreEvent] = []
    store.subscribe_events(seen.append)
    return seen


def of_kind(events: list[StoreEvent], kind: str) -> list[StoreEvent]:
    return [e for e in events if e.kind == kind]
