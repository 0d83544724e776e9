"""``PanelFeed``: tells the UI thread that the store changed, at almost no cost to publishers.

Store listeners run in whatever thread publishes, under the channel's lock, so the feed does
the least it can there:

- Notable events (registrations, clears, closes, errors, diagnostics) are few: each is
  pushed into a bounded ``WakeOnceBuffer``, and the first of a batch wakes the app.
- Publishes can be floods: the feed listens for *one* publish, wakes the app and stops
  listening, so publishers pay nothing more until the app has caught up and re-arms it. The
  app then reads what changed from the view (counts, the tails of histories).

The wake-up is a ``StoreChanged`` message (thread-safe ``post_message``); the app drains the
feed on its own thread and redraws at a bounded rate.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import get_args

from mapstore_core import EventKind, StoreEvent
from mapstore_core.plumbing import WakeOnceBuffer
from mapstore_tui.view import StoreView

__all__ = ["NOTABLE_KINDS", "Batch", "PanelFeed"]

NOTABLE_KINDS: frozenset[EventKind] = frozenset(get_args(EventKind)) - {"published"}


class Batch:
    """The notable events since the last drain."""

    __slots__ = ("dropped", "notable")

    def __init__(self, notable: list[StoreEvent], dropped: int) -> None:
        self.notable = notable
        """Every non-publish event (registrations, clears, errors, diagnostics), in order."""
        self.dropped = dropped
        """Notable events lost because the UI fell behind (the buffer is bounded)."""

    @property
    def channels(self) -> set[str]:
        """Channels these events touched."""
        return {e.channel for e in self.notable if e.channel}


class PanelFeed:
    """Subscribes to a ``StoreView`` and wakes the UI thread when it changes."""

    def __init__(
        self, view: StoreView, wake: Callable[[], object], *, keep_notable: int = 5_000
    ) -> None:
        self._view = view
        self._notable: WakeOnceBuffer[StoreEvent] = WakeOnceBuffer(wake, maxlen=keep_notable)
        self._lock = threading.Lock()
        self._unsubscribe_notable: Callable[[], None] | None = None
        self._unsubscribe_publish: Callable[[], None] | None = None
        self._running = False

    def start(self) -> None:
        """Begin listening."""
        if self._running:
            return
        self._running = True
        self._unsubscribe_notable = self._view.subscribe(self._on_notable, kinds=NOTABLE_KINDS)
        self._arm()

    def stop(self) -> None:
        """Stop listening (the app calls this on unmount)."""
        self._running = False
        if self._unsubscribe_notable is not None:
            self._unsubscribe_notable()
            self._unsubscribe_notable = None
        self._disarm()

    def _arm(self) -> None:
        with self._lock:
            if self._running and self._unsubscribe_publish is None:
                self._unsubscribe_publish = self._view.subscribe(
                    self._on_publish, kinds=("published",)
                )

    def _disarm(self) -> bool:
        with self._lock:
            unsubscribe, self._unsubscribe_publish = self._unsubscribe_publish, None
        if unsubscribe is None:
            return False
        unsubscribe()
        return True

    def _on_publish(self, event: StoreEvent) -> None:
        # Publishing thread. Only the first publish after a drain gets here.
        if self._disarm():
            self._notable.poke()

    def _on_notable(self, event: StoreEvent) -> None:
        # Publishing (or registering) thread: no widget, nothing slow.
        self._notable.push(event)

    def drain(self) -> Batch:
        """Take the notable events so far and listen for publishes again (UI thread)."""
        drained = self._notable.drain()
        self._arm()
        return Batch(drained.items, drained.lost)

    @property
    def armed(self) -> bool:
        """Whether the next publish will wake the app."""
        return self._unsubscribe_publish is not None
