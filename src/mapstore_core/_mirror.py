"""``StoreMirror``: a read-only store, folded from a snapshot and the events that follow it.

A mirror answers the store's read API (``channels()``, ``producers()``, ``consumers()``,
``get()``, ``values()``, ``history()``, ``log_producers()``, ``diagnostics()``,
``snapshot()``, ``processes()``) with the store's own code (``StoreReads``) over state built
by one function (``_fold.fold``). A panel attached to another process reads one; so will a
recording's replay. It never publishes: it only takes events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from mapstore_core._events import EventKind, StoreEvent
from mapstore_core._fold import fold, load_state, merge_state
from mapstore_core._listeners import EventListener, Listeners
from mapstore_core._public import public
from mapstore_core._reads import StoreReads
from mapstore_core._state import StoreState

__all__ = ["StoreMirror"]

logger = logging.getLogger("mapstore_core")


@public
class StoreMirror(StoreReads):
    """A read-only copy of a store: ``StoreMirror(store.snapshot())``, then ``apply(event)``.

    Values are whatever the events carried: JSON data when they crossed a process boundary,
    the store's own objects when a mirror listens in-process. ``apply`` may run on one thread
    while others read (each channel has its lock, as in the store).

    Args:
        snapshot: A ``store.snapshot()`` (version 2) to start from; an empty store's state
            when left out.

    Raises:
        EventFormatError: ``snapshot`` is not a snapshot this mapstore reads.
    """

    def __init__(self, snapshot: Mapping[str, Any] | None = None) -> None:
        self._state = _empty() if snapshot is None else load_state(dict(snapshot))
        self._listeners = Listeners()

    def apply(self, event: StoreEvent) -> bool:
        """Fold ``event`` in, then tell the listeners; False if it was stale or named nothing.

        A stale event (its channel is already past it: a re-send after a resynchronisation)
        changes nothing and is not told again.
        """
        applied = fold(self._state, event)
        if applied:
            self._listeners.tell(event)
        return applied

    def reset(self, snapshot: Mapping[str, Any]) -> None:
        """Start again from ``snapshot`` (after events were lost)."""
        self._state = load_state(dict(snapshot))

    def merge(self, snapshot: Mapping[str, Any]) -> list[str]:
        """Bring the channels of a partial ``store.snapshot(channels=...)`` up to date.

        For a mirror that was not sent some changes one by one (a flood of publishes, which
        the debug endpoint coalesces): the channels it names are replaced whole; events
        already in it are stale afterwards and skipped. Returns the channels' names.
        """
        return merge_state(self._state, dict(snapshot))

    @property
    def seq(self) -> int:
        """The seq of the last change folded in."""
        return self._state.last_seq

    @property
    def linked(self) -> bool:
        """Whether the mirrored store is linked to a namespace (it has a fleet)."""
        return self._state.linked

    def subscribe_events(
        self, fn: EventListener, *, kinds: Iterable[EventKind] | None = None
    ) -> Callable[[], None]:
        """Call ``fn(event)`` after each event is folded in (or only those of ``kinds``).

        As the store's: a listener that raises is logged and does not affect the mirror.
        Returns the function that unsubscribes ``fn``.

        Raises:
            ValueError: ``kinds`` names an event kind that does not exist.
        """
        return self._listeners.add(fn, kinds)

    def __repr__(self) -> str:
        return f"<StoreMirror channels={len(self._state.channels)} seq={self._state.last_seq}>"


def _empty() -> StoreState:
    return StoreState(100, 10, 1.0)
