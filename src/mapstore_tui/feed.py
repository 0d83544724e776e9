"""``PanelFeed``: hands store events from publishing threads to the UI, cheaply.

The listener runs in whatever thread publishes, under the channel's lock, so it does the
least it can: append to a bounded deque and, once per batch, wake the app with a
``StoreChanged`` message. The app drains the deques on its own thread and redraws at a
bounded rate, so a flood of publishes costs the UI one redraw per interval, not one per
publish.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from mapstore_core import StoreEvent
from mapstore_tui.view import StoreView

__all__ = ["Batch", "PanelFeed"]


class Batch:
    """What happened since the last drain."""

    __slots__ = ("dropped", "notable", "published", "published_total")

    def __init__(
        self,
        notable: list[StoreEvent],
        published: list[StoreEvent],
        dropped: int,
        published_total: int,
    ) -> None:
        self.notable = notable
        """Every non-publish event (registrations, clears, errors, diagnostics), in order."""
        self.published = published
        """The most recent publishes (a sample under load)."""
        self.dropped = dropped
        """Notable events lost because the UI fell behind (the buffer is bounded)."""
        self.published_total = published_total
        """How many publishes happened (``published`` keeps only the latest)."""

    @property
    def channels(self) -> set[str]:
        """Channels touched by this batch."""
        return {e.channel for e in (*self.notable, *self.published) if e.channel}

    def __bool__(self) -> bool:
        return bool(self.notable or self.published)


class PanelFeed:
    """Subscribes to a ``StoreView`` and buffers its events for the UI thread."""

    def __init__(
        self,
        view: StoreView,
        wake: Callable[[], object],
        *,
        keep_published: int = 20,
        keep_notable: int = 5_000,
    ) -> None:
        self._view = view
        self._wake = wake
        self._published: deque[StoreEvent] = deque(maxlen=keep_published)
        self._notable: deque[StoreEvent] = deque(maxlen=keep_notable)
        self._keep_notable = keep_notable
        self._notable_seen = 0
        self._published_seen = 0
        self._wake_pending = False
        self._unsubscribe: Callable[[], None] | None = None

    def start(self) -> None:
        """Begin listening."""
        if self._unsubscribe is None:
            self._unsubscribe = self._view.subscribe(self._on_event)

    def stop(self) -> None:
        """Stop listening (the app calls this on unmount)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _on_event(self, event: StoreEvent) -> None:
        # Runs on the publishing thread: no widget, no lock, nothing slow.
        if event.kind == "published":
            self._published.append(event)
            self._published_seen += 1
        else:
            self._notable.append(event)
            self._notable_seen += 1
        if not self._wake_pending:
            self._wake_pending = True
            self._wake()

    def drain(self) -> Batch:
        """Take everything buffered so far (UI thread)."""
        self._wake_pending = False  # before draining: a later event wakes us again
        notable = _take(self._notable)
        published = _take(self._published)
        seen, self._notable_seen = self._notable_seen, 0
        total, self._published_seen = self._published_seen, 0
        return Batch(notable, published, max(0, seen - len(notable)), max(total, len(published)))

    @property
    def pending(self) -> bool:
        """Whether events are waiting to be drained."""
        return bool(self._notable or self._published)


def _take(buffer: deque[StoreEvent]) -> list[StoreEvent]:
    out: list[StoreEvent] = []
    while True:
        try:
            out.append(buffer.popleft())
        except IndexError:
            return out
