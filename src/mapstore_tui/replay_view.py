"""``ReplayView``: the panel's view of a recording, at a cursor that moves.

The panel reads a ``StoreMirror`` holding the state just after the event at the cursor,
through ``LocalStoreView`` as for any mirror, so every screen shows the recording as it
shows a live store. Two ways to move:

- ``advance()`` steps one event forward: it folds the next event into the mirror it holds
  and tells the panel, exactly as a live store's event would (cheap: playing is this).
- ``place(index)`` builds the state at any event (``RecordingReader.state_at``, about
  10 ms; a what-if folds from the start) with the events leading up to it, off the UI thread;
  ``show(place)`` then swaps it in whole, and the panel starts over from it.

A what-if (``skipping``) replays as if one producer had never published: its publishes and
clears are left out, by the recording's own rule (``is_skipped``). Nothing here publishes:
a replay has no dry run and no flight recorder.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from mapstore_core import EventKind, RecordingReader, RecordingWarning, StoreEvent, StoreMirror
from mapstore_core.plumbing import Listeners
from mapstore_core.recording import is_skipped, open_recording
from mapstore_tui.view import EventListener, LocalStoreView

__all__ = ["RECENT_EVENTS", "Place", "ReplayView", "open_for_replay"]

RECENT_EVENTS = 200
"""How many events up to the cursor a jump brings into the event log."""

Skip = tuple[str, str]
"""``(channel, producer)``: the producer a what-if leaves out (``id`` or ``id@process``)."""


def open_for_replay(path: str | os.PathLike[str]) -> RecordingReader:
    """Open a recording; a damaged one quietly (the panel tells its problems in a toast).

    Raises:
        RecordingError: not a recording, a newer version, or unreadable (says which).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RecordingWarning)
        return open_recording(path)


@dataclass(frozen=True)
class Place:
    """A point of the recording, ready to show (built by ``ReplayView.place``)."""

    index: int
    """The event at the cursor (-1: before any, in a recording without events)."""
    mirror: StoreMirror
    """The state just after it."""
    event: StoreEvent | None
    """The event itself."""
    recent: list[StoreEvent]
    """The events leading up to it, oldest first, the cursor's last (what-if: without
    the skipped producer's)."""
    skipping: Skip | None
    """The what-if it was built for."""


class ReplayView(LocalStoreView):
    """A read-only ``StoreView`` over a recording (see the module docstring).

    Args:
        reader: The opened recording.
        at: The event to start at (default: the last one, as one opens a crash dump).
    """

    reads: StoreMirror

    def __init__(self, reader: RecordingReader, *, at: int | None = None) -> None:
        self.reader = reader
        self.length = len(reader)
        self.markers: list[tuple[str, int]] = reader.markers()
        self._listeners = Listeners()
        self._upcoming: Iterator[StoreEvent] | None = None
        self._next: StoreEvent | None = None
        if self.length:
            start = self.place(self.length - 1 if at is None else at, None)
        else:
            start = Place(-1, reader.initial_state(), None, [], None)
        super().__init__(start.mirror)
        self.index = start.index
        """The event at the cursor (0-based; the panel shows ``index + 1``)."""
        self.event = start.event
        """That event (None in a recording without events)."""
        self.skipping: Skip | None = None
        """The producer a what-if leaves out, or None for the recording as it was."""
        self.recent = start.recent
        """The events that led up to the last jump's point (the panel's event log)."""

    # -- what the panel may not do here ----------------------------------------------------

    @property
    def can_dry_run(self) -> bool:
        """Never: a replay only reads a file."""
        return False

    def dry_run(self, channel: str, payload: Any) -> dict[str, Any]:
        """Refused: there is no store to ask."""
        raise PermissionError("a replay cannot run a payload against a store")

    @property
    def can_record_flight(self) -> bool:
        """Never: a replay is a recording already."""
        return False

    # -- events ----------------------------------------------------------------------------

    def subscribe(
        self, listener: EventListener, *, kinds: Iterable[EventKind] | None = None
    ) -> Callable[[], None]:
        # The mirror is replaced on every jump: listeners stay with the view.
        return self._listeners.add(listener, kinds)

    # -- where the cursor is ---------------------------------------------------------------

    def now(self) -> float:
        """The time of the event at the cursor: the panel's clock (ages, rates)."""
        if self.event is not None:
            return self.event.timestamp
        created = self.reader.header.get("created")
        return float(created) if isinstance(created, int | float) else 0.0

    @property
    def at_end(self) -> bool:
        """Whether the cursor is on the last event."""
        return self.index >= self.length - 1

    def peek(self) -> StoreEvent | None:
        """The event after the cursor, or None at the end."""
        if self._next is None and not self.at_end:
            if self._upcoming is None:
                self._upcoming = self.reader.events(self.index + 1)
            self._next = next(self._upcoming, None)
        return self._next

    def advance(self) -> StoreEvent | None:
        """Step one event forward: fold it in and tell the listeners; None at the end.

        In a what-if, a publish or clear of the skipped producer moves the cursor but
        changes nothing and is told to no one, as if it had never happened.
        """
        event = self.peek()
        if event is None:
            return None
        self._next = None
        self.index += 1
        self.event = event
        if (self.skipping is None or not is_skipped(event, self.skipping)) and self.reads.apply(
            event
        ):
            self._listeners.tell(event)
        return event

    def place(self, index: int, skipping: Skip | None) -> Place:
        """The state at event ``index`` (clamped), as ``skipping`` has it (any thread).

        Reads the file: seconds for a what-if of a long recording, so call it from a
        worker; it changes nothing here (``show`` does).
        """
        if not self.length:
            return Place(-1, self.reader.initial_state(), None, [], skipping)
        index = min(max(index, 0), self.length - 1)
        mirror = self.reader.state_at(index, skip_producer=skipping)
        recent = list(self.reader.events(max(0, index - RECENT_EVENTS + 1), index + 1))
        event = recent[-1] if recent else None
        if skipping is not None:
            recent = [e for e in recent if not is_skipped(e, skipping)]
        return Place(index, mirror, event, recent, skipping)

    def show(self, place: Place) -> None:
        """Move the cursor to ``place`` (UI thread); nobody is told: the panel starts over."""
        self.close()
        self.reads = place.mirror
        self.index = place.index
        self.event = place.event
        self.skipping = place.skipping
        self.recent = place.recent

    def close(self) -> None:
        """Let go of the file the next events are read from."""
        upcoming, self._upcoming, self._next = self._upcoming, None, None
        close = getattr(upcoming, "close", None)
        if close is not None:
            close()

    # -- looking ahead ---------------------------------------------------------------------

    def find_after(self, index: int, matches: Callable[[StoreEvent], bool]) -> int | None:
        """The first event after ``index`` that ``matches`` (any thread: reads the file)."""
        for found, event in enumerate(self.reader.events(index + 1), start=index + 1):
            if matches(event):
                return found  # the generator, dropped, closes its file
        return None

    def next_marker(self, index: int) -> tuple[str, int] | None:
        """The first marker after event ``index``, as ``(label, index)``."""
        return next((marker for marker in self.markers if marker[1] > index), None)
