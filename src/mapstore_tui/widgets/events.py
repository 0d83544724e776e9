"""The event log: registrations, publishes, clears, closes, errors and diagnostics."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from rich.cells import cell_len
from rich.text import Text
from textual.events import Resize
from textual.reactive import reactive
from textual.timer import Timer
from textual.widgets import RichLog

from mapstore_core import StoreEvent
from mapstore_tui._format import clip_left, clip_middle, plural, problems_text, short_json

__all__ = ["QUIET_KINDS", "EventLine", "EventLog", "describe_event", "event_who"]

_STYLES = {
    "registered": "green",
    "closed": "yellow",
    "cleared": "yellow",
    "published": "",
    "validation_failed": "bold red",
    "consumer_error": "bold red",
    "diagnostic": "magenta",
    "consumer_registered": "cyan",
    "consumer_closed": "cyan",
    "channel_defined": "blue",
    "leaked": "bold red",
    "job_failed": "red",
    "link_status": "blue",
    "link_dropped": "yellow",
    "marker": "bold magenta",
    "gap": "bold yellow",
}
QUIET_KINDS = frozenset({"consumer_subscribed", "consumer_unsubscribed", "fleet"})
"""Events the log does not show: a callback added or removed, the fleet's heartbeat reading
(the Consumers tab and the Processes view show what they change)."""


_CHANNEL = 18
_WHO = 26
"""Widths of the channel and producer columns: the payload always starts at one column."""


@dataclass(frozen=True)
class EventLine:
    """An event, formatted once, kept for re-filtering."""

    text: Text
    search: str
    event: StoreEvent | None = None
    """The event, to format it again for another width (None: a note)."""


_SHORT_KINDS = {
    "validation_failed": "invalid",
    "consumer_error": "cons error",
    "diagnostic": "doctor",
    "consumer_registered": "+consumer",
    "consumer_closed": "-consumer",
    "channel_defined": "+channel",
    "job_failed": "job failed",
}
_NARROW_COLUMNS = (10, 14, 16)
_WIDE_COLUMNS = (19, _CHANNEL, _WHO)


def event_who(event: StoreEvent) -> str:
    """Who an event is about: ``producer@process → consumer`` (the parts it has)."""
    who = event.producer_id or ""
    if event.process:  # which process it happened in (a linked store's, or the fleet's)
        who = f"{who}@{event.process}" if who else f"@{event.process}"
    if event.consumer_id:
        who = f"{who} → {event.consumer_id}" if who else event.consumer_id
    return who


def _clip_who(event: StoreEvent, who: str, width: int) -> str:
    """``who`` in ``width`` cells; ``@process`` whole when it fits in half.

    The producer is then cut alone: ``job-bridg…arize-15@jobs-1``, not the same
    ``job-bridge:summar…5@jobs-1`` for jobs 5, 15 and 25.
    """
    suffix = f"@{event.process}"
    if (
        cell_len(who) <= width
        or not (event.producer_id and event.process)
        or event.consumer_id
        or cell_len(suffix) > width // 2
    ):
        return clip_middle(who, width)
    return clip_middle(event.producer_id, width - cell_len(suffix)) + suffix


def describe_event(event: StoreEvent, *, narrow: bool = False) -> EventLine:
    """Format one store event as a log line (``narrow``: shorter columns, for 80 columns)."""
    when = datetime.fromtimestamp(event.timestamp, tz=UTC).strftime("%H:%M:%S")
    who = event_who(event)
    if event.kind == "published" and event.update is not None:
        detail = short_json(_plain(event.update.value), 70)
    elif event.kind == "validation_failed":
        detail = problems_text(event.problems, (event.message or "").split("\n")[0])
    elif event.message:
        detail = event.message.splitlines()[0]
    else:
        detail = event.where or ""
        if narrow:  # the file and line, on screen
            detail = clip_left(detail, 80 - 9 - sum(w + 1 for w in _NARROW_COLUMNS) - 1)
    kind_width, channel_width, who_width = _NARROW_COLUMNS if narrow else _WIDE_COLUMNS
    kind = _SHORT_KINDS.get(event.kind, event.kind) if narrow else event.kind
    line = Text.assemble(
        (when, "dim"),
        " ",
        (f"{kind:<{kind_width}}", _STYLES.get(event.kind, "")),
        " ",
        (f"{clip_middle(event.channel or '', channel_width):<{channel_width}}", "bold"),
        " ",
        (f"{_clip_who(event, who, who_width):<{who_width}}", "cyan"),
        " ",
        detail,
        no_wrap=True,
        overflow="ellipsis",  # a long payload ends in … at the log's edge
    )
    search = " ".join(str(part or "") for part in (event.kind, event.channel, who, detail)).lower()
    return EventLine(line, search, event)


def _joined(lines: list[Text]) -> Text:
    """Lines in one write, each cut with … at the log's width rather than scrolling sideways."""
    return Text("\n", no_wrap=True, overflow="ellipsis").join(lines)


def _plain(value: object) -> object:
    dump = getattr(value, "model_dump", None)
    return dump(mode="json") if callable(dump) else value


class EventLog(RichLog):
    """A bounded, filterable log of store events.

    Lines are written in batches (``flush_in`` seconds after the first waiting one): a log
    that scrolls faster than anyone can read costs render time and shows nothing more.
    """

    DEFAULT_CSS = """
    EventLog { overflow-x: hidden; overflow-y: scroll; }
    """

    filter_text: reactive[str] = reactive("")
    narrow: reactive[bool] = reactive(False)
    """Shorter columns (a small terminal); the kept lines are formatted again."""

    def __init__(self, *, limit: int = 1_000, id: str | None = None) -> None:
        super().__init__(max_lines=limit, wrap=False, markup=False, highlight=False, id=id)
        self.lines_kept: deque[EventLine] = deque(maxlen=limit)
        self.dropped = 0
        self._unwritten: list[EventLine] = []
        self._flush_timer: Timer | None = None
        self._cut_for = 0
        """The width the written lines were cut for."""

    def add(
        self,
        events: Iterable[StoreEvent],
        *,
        dropped: int = 0,
        unshown_publishes: int = 0,
        note: str = "",
        flush_in: float = 0.0,
    ) -> None:
        """Append events (oldest first); ``note``: a line that says what happened instead."""
        fresh: list[EventLine] = []
        if note:
            fresh.append(EventLine(Text(f"… {note}", "dim italic"), ""))
        if dropped:
            self.dropped += dropped
            note = f"… {plural(dropped, 'event')} not shown (the panel fell behind)"
            fresh.append(EventLine(Text(note, "dim italic"), ""))
        if unshown_publishes:
            more = plural(unshown_publishes, "more publish", "more publishes")
            note = f"… {more} (the latest are shown)"
            fresh.append(EventLine(Text(note, "dim italic"), "published"))
        fresh.extend(
            describe_event(event, narrow=self.narrow)
            for event in events
            if event.kind not in QUIET_KINDS
        )
        self.lines_kept.extend(fresh)
        self._unwritten.extend(fresh)
        if flush_in <= 0:
            self.flush()
        elif self._flush_timer is None:
            self._flush_timer = self.set_timer(flush_in, self.flush)

    def replace(self, events: Iterable[StoreEvent]) -> None:
        """Start over with ``events`` (a replay jumped: what led up to the new point)."""
        self.lines_kept.clear()
        self._unwritten.clear()
        if self._flush_timer is not None:
            self._flush_timer.stop()
            self._flush_timer = None
        self.clear()
        self.add(events)

    def flush(self) -> None:
        """Write what is waiting, in one write."""
        self._flush_timer = None
        pending, self._unwritten = self._unwritten[-self.max_lines_or_all :], []
        needle = self.filter_text.strip().lower()
        shown = [line.text for line in pending if not needle or needle in line.search]
        if shown:
            self._write(shown)

    @property
    def max_lines_or_all(self) -> int:
        """How many waiting lines are worth writing."""
        return self.max_lines or len(self._unwritten)

    def _write(self, lines: list[Text]) -> None:
        """Write lines cut for the log's width.

        The scrollbar always has its room, so that width holds until the next resize.
        """
        self.write(_joined(lines), width=self.scrollable_content_region.width or None)

    def on_resize(self, event: Resize) -> None:
        """Cut the kept lines again for a new width: RichLog renders a line once.

        Writes before the first size wait in RichLog, with the width given here; its own
        handler, which Textual calls after this one, writes them.
        """
        if event.size.width != self._cut_for:
            self._cut_for = event.size.width
            if self.lines_kept:
                self.watch_filter_text()

    def watch_narrow(self, narrow: bool) -> None:
        kept = [
            line if line.event is None else describe_event(line.event, narrow=narrow)
            for line in self.lines_kept
        ]
        self.lines_kept.clear()
        self.lines_kept.extend(kept)
        self.watch_filter_text()

    def watch_filter_text(self) -> None:
        self._unwritten.clear()
        needle = self.filter_text.strip().lower()
        self.clear()
        shown = [line.text for line in self.lines_kept if not needle or needle in line.search]
        if shown:
            self._write(shown)
