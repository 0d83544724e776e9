"""``FlightRecorder``: the last minute of a store, always on, written out on demand.

Cheap enough to leave on: a publish appends its update to a bounded ``deque`` (one C-level
append, through the store's ``TapPort``), and nothing else happens on the publish path. No
event is built, nothing is folded, until ``dump``.

To write the state at the window's start, the recorder keeps a few snapshots. A thread
takes one every quarter window (of events, or of seconds) and puts an *anchor* in the deque
just before it: the changes after an anchor are exactly those a snapshot may not hold yet
(those it does hold are stale by their seq, and skipped). ``dump`` starts from the oldest
anchor still in the deque, folds the changes that are older than the window into that
snapshot, and writes the rest after it as a recording (``open_recording`` reads it).
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from typing import Any

from mapstore_core._errors import RecordingError
from mapstore_core._events import StoreEvent
from mapstore_core._mirror import StoreMirror
from mapstore_core._public import public
from mapstore_core.recording._format import header, open_output
from mapstore_core.recording._source import Source, source_kind
from mapstore_core.recording._writer import EventWriter, as_event

__all__ = ["FlightRecorder"]

_TICK = 0.05
_SNAPSHOTS = 8


class _Anchor:
    """A place in the deque: the snapshot taken just after it was appended."""

    __slots__ = ("count", "snapshot", "taken")

    def __init__(self, count: int) -> None:
        self.count = count
        self.snapshot: dict[str, Any] | None = None
        self.taken = 0.0


@public
class FlightRecorder:
    """An always-on window of a store's changes (``store.flight_recorder()``).

    Holds at most about 1.5 times ``max_events`` changes in memory (the window, and the
    changes since the snapshot it starts from); ``dump`` writes at most ``max_events``
    of them, none older than ``seconds``.
    """

    def __init__(self, source: Source, *, seconds: float = 60.0, max_events: int = 100_000):
        if not seconds > 0:
            raise ValueError(f"seconds must be > 0, not {seconds!r}")
        if type(max_events) is not int or max_events < 1:
            raise ValueError(f"max_events must be an integer >= 1, not {max_events!r}")
        self.seconds = float(seconds)
        self.max_events = max_events
        self._source = source
        self._every = max(1, max_events // 4)
        self._items: deque[Any] = deque(maxlen=max_events + max_events // 2 + _SNAPSHOTS)
        self._anchors: list[_Anchor] = []
        self._count = 0
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._stop_tap = source.tap(self._items.append)
        self._take()
        self._thread = threading.Thread(
            target=self._run, name="mapstore-flight-recorder", daemon=True
        )
        self._thread.start()

    def dump(self, path: str | os.PathLike[str]) -> dict[str, Any]:
        """Write the window to ``path`` as a recording (gzip if it ends in ``.gz``).

        The file starts with the store's state at the window's start, then holds its
        events in order. Returns the recording's ``stats()`` (``path``, ``events``,
        ``bytes``, ``dropped``). Recording goes on meanwhile.

        Raises:
            RecordingError: the file cannot be created, or the recorder was closed (it
                let go of its window).
        """
        if self._stopped.is_set():
            raise RecordingError(os.fspath(path), "not written: the flight recorder is closed")
        with self._lock:
            anchors = list(self._anchors)
            items = _copy(self._items)
        now = self._source.now()
        start, anchor = _start(items, anchors)
        mirror = StoreMirror(anchor.snapshot if anchor is not None else self._source.snapshot())
        events = [as_event(item) for item in items[start:] if type(item) is not _Anchor]
        cutoff = now - self.seconds
        first = max(0, len(events) - self.max_events)
        while first < len(events) and events[first].timestamp <= cutoff:
            first += 1
        for event in events[:first]:
            mirror.apply(event)
        snapshot = mirror.snapshot()
        del mirror
        output = open_output(path)
        writer = EventWriter(
            output,
            snapshot,
            header(snapshot, self._source.process(), source=source_kind(self._source)),
        )
        try:
            if anchor is None:  # the snapshot thread was starved past the whole window
                dropped = sum(1 for item in items if type(item) is not _Anchor)
                writer.gap(dropped, snapshot, now, "the flight recorder had no snapshot left")
            writer.write(events[first:])
        finally:
            writer.close()
        return {
            "path": output.path,
            "events": writer.events,
            "bytes": writer.bytes,
            "dropped": writer.dropped,
            "checkpoints": writer.checkpoints,
            "error": None,
        }

    def mark(self, label: str) -> None:
        """Put a ``marker`` event labelled ``label`` in the window (as ``Recording.mark``)."""
        if not isinstance(label, str):
            raise TypeError(f"a marker's label must be a string, not {type(label).__name__}")
        self._items.append(StoreEvent("marker", None, None, self._source.now(), message=label))

    def __len__(self) -> int:
        """Changes held now (the window and what precedes it since its snapshot)."""
        return sum(1 for item in _copy(self._items) if type(item) is not _Anchor)

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._stopped.is_set()

    def close(self) -> None:
        """Stop recording and let go of the window. Idempotent."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self._stop_tap()
        self._thread.join()
        with self._lock:
            self._items.clear()
            self._anchors.clear()

    def __enter__(self) -> FlightRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{self.seconds:g}s/{self.max_events} events"
        return f"<FlightRecorder {state}>"

    # -- snapshots ---------------------------------------------------------------------------

    def _run(self) -> None:
        """Take a snapshot every quarter window, of events or of seconds."""
        every_seconds = self.seconds / 4
        while not self._stopped.wait(_TICK):
            last = self._anchors[-1]
            moved = self._source.seq() - last.count
            if moved >= self._every or time.monotonic() - last.taken >= every_seconds:
                self._take()

    def _take(self) -> None:
        anchor = _Anchor(self._source.seq())
        self._items.append(anchor)
        anchor.snapshot = self._source.snapshot()
        anchor.taken = time.monotonic()
        with self._lock:
            self._anchors = [*self._anchors[-(_SNAPSHOTS - 1) :], anchor]


def _copy(items: deque[Any]) -> list[Any]:
    """A copy of a deque other threads append to.

    Copying runs in C, so no other thread appends meanwhile; a garbage collection's
    finalizer could, and then it tries again.
    """
    while True:
        try:
            return list(items)
        except RuntimeError:  # pragma: no cover (a finalizer appended mid-copy)
            continue


def _start(items: list[Any], anchors: list[_Anchor]) -> tuple[int, _Anchor | None]:
    """Where the window can start: just after the oldest anchor still held, and it."""
    held = {id(anchor): anchor for anchor in anchors if anchor.snapshot is not None}
    for i, item in enumerate(items):
        if type(item) is _Anchor and id(item) in held:
            return i + 1, item
    return len(items), None
