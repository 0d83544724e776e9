"""``Listeners``: who is told a store's events, by kind — the store's and every mirror's.

Subscribing and unsubscribing rebuild one tuple per kind under a lock; telling reads the
kind's tuple and takes no lock, so any thread may tell (a publish tells under its channel's
lock). A listener that raises is logged and the others are still told (``_events.tell``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from mapstore_core._events import EVENT_KINDS, EventKind, StoreEvent, tell

__all__ = ["EventListener", "Listeners"]

EventListener = Callable[[StoreEvent], object]


class Listeners:
    """Event listeners by kind (see the module docstring).

    Args:
        changed: Called (under the lock) after every change, to cache a kind's tuple where
            a hot path reads it.
    """

    __slots__ = ("_changed", "_entries", "_lock", "by_kind")

    def __init__(self, changed: Callable[[Listeners], object] | None = None) -> None:
        self._entries: list[tuple[EventListener, frozenset[str] | None]] = []
        self._lock = threading.Lock()
        self._changed = changed
        self.by_kind: dict[str, tuple[EventListener, ...]] = dict.fromkeys(EVENT_KINDS, ())
        """Per kind, the listeners that want it, in subscription order."""

    def add(
        self, fn: EventListener, kinds: Iterable[EventKind] | None = None
    ) -> Callable[[], None]:
        """Tell ``fn`` every event (or those of ``kinds``); returns what unsubscribes it.

        Raises:
            TypeError: ``fn`` is not callable.
            ValueError: ``kinds`` names an event kind that does not exist.
        """
        if not callable(fn):
            raise TypeError(f"subscribe_events() needs a callable, not {fn!r}")
        wanted = None if kinds is None else frozenset(kinds)
        if wanted is not None and not wanted <= EVENT_KINDS:
            unknown = ", ".join(sorted(wanted - EVENT_KINDS))
            raise ValueError(f"unknown event kinds: {unknown}; known: {sorted(EVENT_KINDS)}")
        entry = (fn, wanted)
        with self._lock:
            self._entries.append(entry)
            self._rebuild()

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._entries:
                    self._entries.remove(entry)
                    self._rebuild()

        return unsubscribe

    def tell(self, event: StoreEvent) -> None:
        """Tell ``event`` to the listeners of its kind."""
        listeners = self.by_kind[event.kind]
        if listeners:
            tell(listeners, event)

    def __len__(self) -> int:
        return len(self._entries)

    def _rebuild(self) -> None:
        entries = self._entries
        self.by_kind = {
            kind: tuple(fn for fn, kinds in entries if kinds is None or kind in kinds)
            for kind in EVENT_KINDS
        }
        if self._changed is not None:
            self._changed(self)
