"""``TimelineBar``: a replay's place in its recording, on top of every screen of the panel.

One line: ``⏸ REPLAY · event 7/12 · 2023-11-14 22:13:21.750 UTC · 1x │ published
metric-data polling-service``. It always fits its width: the event's description ends in
``…`` first, then the speed goes; the position and the time stay. In a what-if a second
line, in the warning colour, says which producer is left out and how to undo it: a person
never mistakes the what-if for what happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from rich.cells import cell_len
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from mapstore_core import StoreEvent
from mapstore_core.recording import is_skipped
from mapstore_tui.widgets.events import event_who

__all__ = ["Cursor", "TimelineBar", "event_time", "timeline_text"]


@dataclass(frozen=True)
class Cursor:
    """What the bar shows: where the replay is, and how it plays."""

    index: int
    """The event at the cursor, 0-based (-1: a recording without events)."""
    length: int
    """Events in the recording."""
    event: StoreEvent | None
    """The event at the cursor."""
    playing: bool = False
    speed: float | None = 1.0
    """Recorded seconds played per second (None: as fast as it goes)."""
    skipping: tuple[str, str] | None = None
    """The what-if's ``(channel, producer)``, or None."""
    loading: bool = False
    """A jump is on its way (a what-if of a long recording takes seconds)."""

    @property
    def position(self) -> str:
        """``event N/M``, N counted from 1."""
        return f"event {self.index + 1}/{self.length}"


def event_time(timestamp: float) -> str:
    """An event's time, to the millisecond, in UTC (as the event log's times)."""
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    return f"{moment:%Y-%m-%d %H:%M:%S}.{moment.microsecond // 1000:03d} UTC"


def _what(event: StoreEvent) -> str:
    if event.kind == "marker":
        return f"marker “{event.message or ''}”"
    parts = [event.kind.replace("_", " "), event.channel or "", event_who(event)]
    if event.kind == "gap":
        parts.append(event.message or "")
    return " ".join(part for part in parts if part)


def timeline_text(cursor: Cursor, width: int) -> Text:
    """The bar's text for ``width`` cells (see the module docstring)."""
    line = Text()
    line.append(" ▶ PLAYING " if cursor.playing else " ⏸ REPLAY ", "bold reverse")
    line.append(" ")
    line.append(cursor.position, "bold")
    if cursor.event is not None:
        line.append(" · ")
        line.append(event_time(cursor.event.timestamp))
    if cursor.loading:
        line.append(" · loading…", "italic")
    speed = " · max speed" if cursor.speed is None else f" · {cursor.speed:g}x"
    what = ""
    if cursor.event is not None:
        what = f" │ {_what(cursor.event)}"
        if cursor.skipping is not None and is_skipped(cursor.event, cursor.skipping):
            what += " (left out: what-if)"
    if line.cell_len + cell_len(speed) <= width:
        line.append(speed, "dim")
    if what and line.cell_len + 5 < width:
        line.append(what)
    line.truncate(width, overflow="ellipsis")
    if cursor.skipping is not None:
        channel, producer = cursor.skipping
        banner = Text(
            f" WHAT-IF: as if {producer} had never published on {channel} · x undoes it ",
            "bold",
        )
        banner.truncate(width, overflow="ellipsis", pad=True)
        line.append("\n")
        line.append_text(banner)
    return line


class TimelineBar(Widget):
    """The replay's timeline (see the module docstring); follows the app's ``cursor``."""

    DEFAULT_CSS = """
    TimelineBar {
        dock: top;
        width: 100%;
        height: auto;
        background: $primary-muted;
        color: $foreground;
    }
    TimelineBar.-what-if {
        background: $warning;
        color: auto 90%;
    }
    """

    cursor: reactive[Cursor | None] = reactive(None, layout=True)

    def on_mount(self) -> None:
        self.watch(self.app, "cursor", self._follow, init=True)

    def _follow(self, cursor: Cursor | None) -> None:
        self.cursor = cursor

    def watch_cursor(self, cursor: Cursor | None) -> None:
        self.set_class(cursor is not None and cursor.skipping is not None, "-what-if")

    @property
    def text(self) -> str:
        """The bar as drawn now (plain)."""
        return self.render().plain

    def render(self) -> Text:
        if self.cursor is None:
            return Text()
        return timeline_text(self.cursor, max(1, self.content_region.width or self.size.width))
