"""``ServedStore``: what the debug endpoint needs of a store.

Its reads (``JsonReads`` answers requests with them), its events, its snapshot (whole or of
some channels, with each channel's seq) and its dry run. Nothing here changes the store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from mapstore_core._events import EventKind, StoreEvent
from mapstore_core._json_reads import Readable

__all__ = ["ServedStore"]


class ServedStore(Readable, Protocol):
    """A store as its debug endpoint uses it (``MapObjectStore`` is one): reads and events."""

    def snapshot(self, channels: Iterable[str] | None = None) -> dict[str, Any]:
        """As ``MapObjectStore.snapshot`` (the whole store, or some channels)."""
        ...

    def channel_seqs(self) -> dict[str, int]:
        """As ``MapObjectStore.channel_seqs``: what a client's copy of each channel is up to."""
        ...

    def subscribe_events(
        self, fn: Callable[[StoreEvent], object], *, kinds: Iterable[EventKind] | None = None
    ) -> Callable[[], None]:
        """As ``MapObjectStore.subscribe_events``."""
        ...

    def dry_run(self, channel: str, payload: Any) -> dict[str, Any]:
        """As ``MapObjectStore.dry_run``."""
        ...
