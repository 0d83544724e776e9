"""What a recorder records from: a store (through its ``TapPort``) or a mirror of one.

Both hand every change to one ``append`` in order and give a snapshot to start from; a
mirror (a panel attached to another process) tells its events through its public
``subscribe_events``. A mirror replaced whole (``reset``, ``merge``) tells nothing: its
recorder says so with ``Recording.resync``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from mapstore_core._mirror import StoreMirror

__all__ = ["MirrorSource", "Source", "source_kind"]


class Source(Protocol):
    """What ``Recording`` and ``FlightRecorder`` need of what they record."""

    def tap(self, append: Callable[[Any], object]) -> Callable[[], None]:
        """Hand every change to ``append`` (a queue's append), in order; returns the stop."""
        ...

    def snapshot(self) -> dict[str, Any]:
        """The state now (changes already tapped are stale in it by their seq)."""
        ...

    def now(self) -> float:
        """The time, on the source's clock."""
        ...

    def seq(self) -> int:
        """The number of the source's last change (how far it has moved)."""
        ...

    def process(self) -> str | None:
        """The recorded process's name in its namespace, if it has one."""
        ...


class MirrorSource:
    """A ``StoreMirror`` as a recorder's source (``mapstore-tui record`` of an attached app).

    Args:
        mirror: The mirror whose events are recorded.
        process: What the header names as the recorded process.
    """

    def __init__(self, mirror: StoreMirror, process: str | None = None) -> None:
        self._mirror = mirror
        self._process = process

    def tap(self, append: Callable[[Any], object]) -> Callable[[], None]:
        return self._mirror.subscribe_events(append)

    def snapshot(self) -> dict[str, Any]:
        return self._mirror.snapshot()

    def now(self) -> float:
        return time.time()

    def seq(self) -> int:
        return self._mirror.seq

    def process(self) -> str | None:
        return self._process


def source_kind(source: Source) -> str:
    """What a recording's header calls its source: ``mirror`` or ``store``."""
    return "mirror" if isinstance(source, MirrorSource) else "store"
