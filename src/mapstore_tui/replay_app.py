"""``ReplayApp``: the panel over a recording, with a timeline (``mapstore-tui replay FILE``).

Every screen is the live panel's, reading a ``ReplayView`` whose state is the recording's
just after the event at the cursor; ``TimelineBar`` says where that is on top of every
screen. The timeline keys are priority bindings, so they work whatever has the focus,
except a text field (the ``/`` filter wants ``m``, ``n``, ``[``...) and a dialog.

- Stepping forward and playing fold the next events into the state held (``advance``): the
  panel is told of them as a live store's, so the event log, rates and toasts follow.
- Any other move (back, first, last, a marker, the next match, a what-if) is a jump: the
  state there is built on a worker thread (``ReplayView.place``) and swapped in whole
  (``StoreReplaced``); keys pressed meanwhile count from where the jump goes.

The clock of the panel is the time of the event at the cursor, so ages and rates are the
recording's; redraws are spaced on the wall clock. Nothing here publishes: the dry run says
so, there is no flight recorder, and no live pause (``space`` plays and pauses).
"""

from __future__ import annotations

import os
import time
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.command import CommandPalette
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input, TextArea

from mapstore_core import RecordingReader, StoreEvent
from mapstore_core.recording import is_skipped
from mapstore_tui.app import MapStoreApp
from mapstore_tui.messages import ReplayPlaced, StoreReplaced
from mapstore_tui.replay_view import ReplayView, Skip, open_for_replay
from mapstore_tui.screens.overview import ProducersOverview
from mapstore_tui.screens.processes import ProcessesScreen
from mapstore_tui.screens.skip_producer import SkipProducerScreen
from mapstore_tui.widgets.events import EventLog, describe_event
from mapstore_tui.widgets.processes import producer_key
from mapstore_tui.widgets.timeline import Cursor, TimelineBar

__all__ = ["PROBLEM_KINDS", "SPEEDS", "ReplayApp", "damage_report"]

SPEEDS: tuple[float | None, ...] = (1.0, 10.0, None)
"""What ``s`` cycles through: real time, ten times, as fast as it goes (None)."""
PROBLEM_KINDS = frozenset({"validation_failed", "consumer_error", "job_failed", "leaked", "gap"})
"""What ``n`` looks for while the ``/`` filter is empty: rejections, errors, gaps."""
_TICK = 1 / 30
_TICK_BUDGET = 0.012
"""Seconds of folding per tick at most: keys stay answered while it plays at full speed."""
_LONGEST_WAIT = 2.0
"""A quiet stretch of the recording plays in at most this many seconds."""
_TIMELINE = frozenset(
    {
        "play",
        "pause_replay",
        "step_back",
        "step_forward",
        "first",
        "last",
        "next_marker",
        "next_match",
        "skip_producer",
        "undo_what_if",
        "speed",
    }
)


def _dialog(screen: Screen[Any]) -> bool:
    """Whether a dialog is open (the command palette lists the timeline: not one of them)."""
    return isinstance(screen, ModalScreen) and not isinstance(screen, CommandPalette)


def _typing(widget: Widget | None) -> bool:
    """Whether ``widget`` takes text (the read-only Log Producers text does not)."""
    return isinstance(widget, Input) or (isinstance(widget, TextArea) and not widget.read_only)


def damage_report(reader: RecordingReader) -> str:
    """What was wrong with the file, in words (empty for a whole one)."""
    parts = []
    if reader.skipped:
        parts.append(f"{reader.skipped:,} corrupt line(s) skipped")
    if reader.cut:
        parts.append(
            f"the last {reader.cut:,} bytes were cut off (the recording process stopped "
            "while writing): it ends at the last whole event"
        )
    if not parts:
        return ""
    first = f" First problem: {reader.problems[0]}." if reader.problems else ""
    return "; ".join(parts) + "." + first


class ReplayApp(MapStoreApp):
    """The panel over a recording (see the module docstring).

    Args:
        recording: The file, or a recording already opened.
        at: The event to start at, 0-based (default: the last one, as one opens a dump).
        refresh_interval: Least time between two redraws (0 in tests).

    Raises:
        RecordingError: the file is not a recording, is of a newer version, or is unreadable.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "play", "Play", priority=True),
        Binding("space", "pause_replay", "Pause", priority=True),
        Binding("left_square_bracket", "step_back", "Back", key_display="[", priority=True),
        Binding("right_square_bracket", "step_forward", "Forward", key_display="]", priority=True),
        Binding("home", "first", "First", priority=True),
        Binding("end", "last", "Last", priority=True),
        Binding("m", "next_marker", "Marker", priority=True),
        Binding("n", "next_match", "Next match", priority=True),
        Binding("x", "skip_producer", "What-if", priority=True),
        Binding("x", "undo_what_if", "Undo what-if", priority=True),
        Binding("s", "speed", "Speed", priority=True),
        *MapStoreApp.BINDINGS,
    ]

    cursor: reactive[Cursor | None] = reactive(None)
    """Where the replay is: the ``TimelineBar`` of every screen follows it."""

    def __init__(
        self,
        recording: RecordingReader | str | os.PathLike[str],
        *,
        at: int | None = None,
        refresh_interval: float = 1 / 30,
    ) -> None:
        reader = recording if isinstance(recording, RecordingReader) else open_for_replay(recording)
        self.replay = ReplayView(reader, at=at)
        super().__init__(
            view=self.replay,
            clock=self.replay.now,
            refresh_interval=refresh_interval,
            redraw_clock=time.monotonic,
        )
        self.sub_title = f"replay {Path(reader.path).name}"
        self.speed: float | None = SPEEDS[0]
        """Recorded seconds played per second (None: as fast as it goes)."""
        self._ticker: Timer | None = None
        self._play_clock = (0.0, 0.0)  # (recording time reached, wall time then)
        self._request = 0  # the latest jump asked for
        self._target: int | None = None  # where it goes, until it is shown
        self._skip: Skip | None = None  # the what-if asked for

    def compose(self) -> ComposeResult:
        yield TimelineBar()
        yield from super().compose()

    def on_mount(self) -> None:
        self.screen_change_signal.subscribe(self, self._screen_shown)
        self._show_cursor()
        self.monitor.post_message(StoreReplaced(self.replay.recent))  # the log up to here
        damage = damage_report(self.replay.reader)
        if damage:
            self.notify(damage, title="Damaged recording", severity="warning", timeout=20)
        if not self.replay.length:
            self.notify(
                "The recording holds no events: this is the store as it was when it started.",
                title="Replay",
            )

    def on_unmount(self) -> None:
        self._stop_playing()
        self.replay.close()

    @property
    def playing(self) -> bool:
        """Whether the replay is playing."""
        return self._ticker is not None

    # -- keys ------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Timeline keys everywhere but in a dialog or a text field; no live pause here."""
        if action in _TIMELINE:
            if _dialog(self.screen) or _typing(self.focused):
                return False  # the key goes to them
            return self.applies(action)
        if action in ("pause", "resume"):
            return False  # nothing live to freeze: space plays and pauses
        return super().check_action(action, parameters)

    def applies(self, action: str) -> bool:
        """Play or Pause, What-if or Undo, whichever applies (also with the palette open)."""
        if action in ("play", "pause_replay"):
            return self.playing == (action == "pause_replay")
        if action in ("skip_producer", "undo_what_if"):
            return (self._skip is None) == (action == "skip_producer")
        return action in _TIMELINE or super().applies(action)

    def offers(self, action: str) -> bool:
        """No live pause and no flight recorder in a replay."""
        return action not in ("pause", "resume", "dump_flight") and super().offers(action)

    def action_play(self) -> None:
        """Play from the cursor (from the first event when at the last)."""
        if not self.replay.length or self.playing:
            return
        if self._where() >= self.replay.length - 1:
            self._jump(0)
        self._play_clock = (self.replay.now(), time.monotonic())
        self._ticker = self.set_interval(_TICK, self._tick, name="replay")
        self._changed()

    def action_pause_replay(self) -> None:
        """Stop playing; the cursor stays."""
        self._stop_playing()
        self._changed()

    def action_speed(self) -> None:
        """Play in real time, ten times as fast, or as fast as it goes."""
        self.speed = SPEEDS[(SPEEDS.index(self.speed) + 1) % len(SPEEDS)]
        self._play_clock = (self.replay.now(), time.monotonic())
        self._show_cursor()

    def action_step_forward(self) -> None:
        """One event forward (pauses)."""
        self._stop_playing()
        if self._target is not None:
            self._jump(self._target + 1)
        elif self.replay.advance() is not None:
            self._moved()
        self._changed()

    def action_step_back(self) -> None:
        """One event back (pauses)."""
        self._stop_playing()
        if self._where() > 0:
            self._jump(self._where() - 1)
        self._changed()

    def action_first(self) -> None:
        """The first event."""
        self._jump(0)

    def action_last(self) -> None:
        """The last event."""
        self._jump(self.replay.length - 1)

    def action_next_marker(self) -> None:
        """The next marker (``rec.mark(label)``) after the cursor."""
        found = self.replay.next_marker(self._where())
        if found is None:
            self.notify(
                f"No marker after event {self._where() + 1} "
                f"({len(self.replay.markers)} in the recording; home goes back to the first).",
                title="Markers",
            )
            return
        self._jump(found[1])

    def action_next_match(self) -> None:
        """The next event the / filter matches (with no filter: a rejection or an error)."""
        if not self.replay.length:
            return
        needle = self.query_one(EventLog).filter_text.strip().lower()
        self._request += 1
        self._target = self._where()
        self._show_cursor()
        self._find(self._request, self._target, needle, self._skip)

    def action_skip_producer(self) -> None:
        """What if a producer of the selected channel had never published?"""
        channel = self.monitor.selected
        producers = [] if channel is None else self.view.producers(channel)
        if channel is None or not producers:
            self.notify(
                "Select a channel that has producers at this event: x replays it as if one "
                "of them had never published.",
                title="What-if",
                severity="warning",
            )
            return
        keys = [producer_key(p) for p in producers]
        self.push_screen(SkipProducerScreen(channel, keys), partial(self._skip_chosen, channel))

    def _skip_chosen(self, channel: str, producer: str | None) -> None:
        if producer is None:
            return
        self._skip = (channel, producer)
        self._jump(self._where())

    def action_undo_what_if(self) -> None:
        """Back to the recording as it happened."""
        self._skip = None
        self._jump(self._where())

    def action_no_dry_run(self) -> None:
        """Refused: a replay publishes nothing, not even a dry run."""
        self.notify(
            "A replay is read-only: nothing is published or dry-run here (v works in a live "
            "panel: mapstore-tui attach, or MapStoreApp over your store).",
            title="Dry run",
            severity="warning",
        )

    # -- playing ---------------------------------------------------------------------------

    def _tick(self) -> None:
        """Fold the events whose time has come (all it can in a tick at full speed)."""
        if self._target is not None:
            return  # a jump is on its way: play on from there
        replay = self.replay
        started = time.perf_counter()
        reached = float("inf")
        if self.speed is not None:
            at, then = self._play_clock
            now = time.monotonic()
            reached = at + (now - then) * self.speed
            upcoming = replay.peek()
            if upcoming is not None and upcoming.timestamp - reached > _LONGEST_WAIT * self.speed:
                reached = upcoming.timestamp - _LONGEST_WAIT * self.speed
            self._play_clock = (reached, now)
        moved = False
        while time.perf_counter() - started < _TICK_BUDGET:
            upcoming = replay.peek()
            if upcoming is None or upcoming.timestamp > reached:
                break
            replay.advance()
            moved = True
        if replay.at_end:
            self._stop_playing()
            self._changed()
        if moved:
            self._moved()

    def _stop_playing(self) -> None:
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None

    # -- jumps -----------------------------------------------------------------------------

    def _where(self) -> int:
        """Where the cursor is, or goes: keys pressed during a jump count from there."""
        return self.replay.index if self._target is None else self._target

    def _jump(self, index: int) -> None:
        if not self.replay.length:
            return
        self._request += 1
        self._target = min(max(index, 0), self.replay.length - 1)
        self._show_cursor()
        self._load(self._request, self._target, self._skip)

    @work(thread=True, exclusive=True, group="replay-seek")
    def _load(self, request: int, index: int, skip: Skip | None) -> None:
        # A worker thread: reads the file (a what-if folds from the start); only posts.
        try:
            place = self.replay.place(index, skip)
        except Exception as exc:  # the file went or changed under the panel: said in a toast
            self.post_message(ReplayPlaced(request, error=f"cannot read the recording: {exc}"))
            return
        self.post_message(ReplayPlaced(request, place))

    @work(thread=True, exclusive=True, group="replay-seek")
    def _find(self, request: int, after: int, needle: str, skip: Skip | None) -> None:
        # A worker thread: scans the file from the cursor on; only posts.
        def matches(event: StoreEvent) -> bool:
            if skip is not None and is_skipped(event, skip):
                return False
            if not needle:
                return event.kind in PROBLEM_KINDS
            return needle in describe_event(event).search

        try:
            found = self.replay.find_after(after, matches)
            if found is None:
                wanted = f"matches “{needle}”" if needle else "is a rejection or an error"
                self.post_message(
                    ReplayPlaced(request, error=f"no event after event {after + 1} {wanted}")
                )
                return
            place = self.replay.place(found, skip)
        except Exception as exc:  # the file went or changed under the panel
            self.post_message(ReplayPlaced(request, error=f"cannot read the recording: {exc}"))
            return
        self.post_message(ReplayPlaced(request, place))

    @on(ReplayPlaced)
    def _placed(self, message: ReplayPlaced) -> None:
        if message.request != self._request:
            return  # a later jump is on its way
        self._target = None
        place = message.place
        if place is None:
            self.notify(message.error, title="Replay", severity="warning", markup=False)
            self._changed()
            return
        self.replay.show(place)
        self._skip = place.skipping
        self._play_clock = (self.replay.now(), time.monotonic())
        self.monitor.post_message(StoreReplaced(self.replay.recent))
        self._changed()
        self._refresh_screen()

    # -- what the person sees --------------------------------------------------------------

    def _moved(self) -> None:
        """The cursor stepped forward: the bar, and a full-screen view, follow."""
        self._show_cursor()
        if not self.playing:
            self._refresh_screen()

    def _changed(self) -> None:
        """Play, pause or the what-if changed: the bar and the footer's words."""
        self._show_cursor()
        self.refresh_bindings()

    def _show_cursor(self) -> None:
        replay = self.replay
        self.cursor = Cursor(
            replay.index,
            replay.length,
            replay.event,
            playing=self.playing,
            speed=self.speed,
            skipping=replay.skipping,
            loading=self._target is not None,
        )

    def _refresh_screen(self) -> None:
        """The overview and the processes read again now (they also do every second)."""
        screen = self.screen
        if isinstance(screen, ProducersOverview | ProcessesScreen):
            screen.refresh_rows()

    def _screen_shown(self, screen: Screen[Any]) -> None:
        """Every full screen gets the timeline on top (the panel's own has it)."""
        if not isinstance(screen, ModalScreen) and not screen.query(TimelineBar):
            screen.mount(TimelineBar())
