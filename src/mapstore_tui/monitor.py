"""``Monitor``: the panel's body. It owns the view and the feed, and hands data down.

Data flows one way: store events → ``PanelFeed`` (any thread) → ``StoreChanged`` message →
``Monitor`` drains and asks the view for what changed → reactives of the child panels.
Children report up with messages (``ChannelSelected``); none of them touches the store.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.timer import Timer
from textual.widgets import Input, TabbedContent, TabPane

from mapstore_core import ChannelUpdate, StoreEvent
from mapstore_tui._format import age, rate, sparkline
from mapstore_tui.feed import Batch, PanelFeed
from mapstore_tui.messages import ChannelSelected, ConnectionChanged, StoreChanged
from mapstore_tui.rates import RateTracker
from mapstore_tui.view import StoreView
from mapstore_tui.widgets.channel_list import ChannelList, ChannelRow
from mapstore_tui.widgets.channel_preview import ChannelPreview, PreviewState
from mapstore_tui.widgets.doctor import DoctorTable
from mapstore_tui.widgets.events import EventLog
from mapstore_tui.widgets.flow import FlowTree
from mapstore_tui.widgets.header import PanelHeader
from mapstore_tui.widgets.history import HistoryPanel
from mapstore_tui.widgets.log_producers import LogProducersPanel
from mapstore_tui.widgets.schema import SchemaPanel
from mapstore_tui.widgets.tables import ConsumersTable, ProducersTable

__all__ = ["Monitor", "Totals"]

_STRUCTURE = frozenset(
    {
        "registered",
        "closed",
        "consumer_registered",
        "consumer_closed",
        "diagnostic",
        "channel_defined",
    }
)
_MAX_TOASTS = 3
_LOG_PER_CHANNEL = 5
_LOG_PER_BATCH = 20
TOAST_EVERY = 10.0
CPU_BUDGET = 0.15


@dataclass(frozen=True)
class Totals:
    """The header's figures."""

    channels: int
    producers: int
    consumers: int
    messages: int
    per_second: float

    def __str__(self) -> str:
        return (
            f"{self.channels} channels · {self.producers} producers · "
            f"{self.consumers} consumers · {self.messages:,} msgs · {rate(self.per_second)}/s"
        )


class Monitor(Vertical):
    """Channel list and detail on top, events / doctor / Log Producers / data flow below."""

    paused: reactive[bool] = reactive(False)
    selected: reactive[str | None] = reactive(None)

    def __init__(
        self,
        view: StoreView,
        *,
        clock: Callable[[], float],
        refresh_interval: float,
        extra_panes: Callable[[], Iterable[TabPane]] | None = None,
        title: str = "MapStore",
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self._title = title
        self.view = view
        self._clock = clock
        self._interval = refresh_interval
        self._extra_panes = extra_panes
        self.feed = PanelFeed(view, lambda: self.post_message(StoreChanged()))
        self.rates = RateTracker()
        self._last_apply = float("-inf")
        self._gap = refresh_interval
        self._probe: tuple[float, float] | None = None
        self._toasted: dict[tuple[str | None, ...], float] = {}
        self._deferred: Timer | None = None
        self.totals = Totals(0, 0, 0, 0, 0.0)
        self._channels: list[dict[str, Any]] = []
        self._counts: dict[str, int] = {}
        self._findings: list[dict[str, Any]] | None = None

    def compose(self) -> ComposeResult:
        yield PanelHeader(self._title, id="panel-header")
        with Horizontal(id="top"):
            yield ChannelList(id="channel-list")
            with TabbedContent(id="detail", initial="preview"):
                with TabPane("Preview", id="preview"):
                    yield ChannelPreview(id="channel-preview")
                with TabPane("Producers", id="producers"):
                    yield ProducersTable(now=self._clock, id="producers-table")
                with TabPane("Consumers", id="consumers"):
                    yield ConsumersTable(now=self._clock, id="consumers-table")
                with TabPane("History", id="history"):
                    yield HistoryPanel(id="history-panel")
                with TabPane("Schema", id="schema"):
                    yield SchemaPanel(id="schema-panel")
        with TabbedContent(id="global", initial="events"):
            with TabPane("Events", id="events"):
                yield EventLog(id="event-log")
            with TabPane("Doctor", id="doctor"):
                yield DoctorTable(id="doctor-table")
            with TabPane("Log Producers", id="log"):
                yield LogProducersPanel(id="log-producers")
            with TabPane("Data flow", id="flow"):
                yield FlowTree(id="flow-tree")
            if self._extra_panes is not None:
                yield from self._extra_panes()

    def on_mount(self) -> None:
        self.feed.start()
        self.sample_rates()  # the baseline: rates start with the next sample
        self.refresh_all()
        self.set_interval(1.0, self.sample_rates, name="rates")

    def on_unmount(self) -> None:
        self.feed.stop()

    # -- applying store changes ------------------------------------------------------------

    @on(StoreChanged)
    def _store_changed(self) -> None:
        if self.paused:
            return
        wait = self._last_apply + self._gap - time.monotonic()
        if wait > 0:
            if self._deferred is None:
                self._deferred = self.set_timer(wait, self._apply_deferred)
            return
        self.apply()

    def _apply_deferred(self) -> None:
        self._deferred = None
        if not self.paused:
            self.apply()

    def _adapt(self, now: float) -> None:
        """Keep the panel's share of the CPU near ``CPU_BUDGET``.

        Publishers and this UI share one interpreter lock: every millisecond spent
        redrawing is one a publisher waits. Under a flood the redraw interval grows (up to
        a second); when things calm down it shrinks back to ``refresh_interval``.
        """
        if self._interval <= 0:
            return  # tests ask for every change at once
        cpu = time.thread_time()
        if self._probe is None:
            self._probe = (now, cpu)
            return
        wall_then, cpu_then = self._probe
        if now - wall_then < 0.5:
            return
        share = (cpu - cpu_then) / (now - wall_then)
        if share > CPU_BUDGET:
            self._gap = min(1.0, self._gap * 1.5)
        elif share < CPU_BUDGET / 2:
            self._gap = max(self._interval, self._gap / 1.5)
        self._probe = (now, cpu)

    def apply(self) -> None:
        """Drain the feed, read what changed from the view, redraw what it touched."""
        self._last_apply = time.monotonic()
        self._adapt(self._last_apply)
        batch = self.feed.drain()
        previous = self._counts
        self.refresh_channels()
        self._counts = {c["name"]: c["publish_count"] for c in self._channels}
        deltas = {
            name: count - previous.get(name, 0)
            for name, count in self._counts.items()
            if count != previous.get(name, 0)
        }
        published, unshown = self._sample_publishes(deltas)
        if batch.notable or published or batch.dropped or unshown:
            self._log(batch, published, unshown)
        structural = any(e.kind in _STRUCTURE for e in batch.notable)
        if structural:
            self._findings = None
        touched = batch.channels | deltas.keys()
        if self.selected in touched or structural:
            self.refresh_detail()
        if structural:
            self.refresh_global()
        self._toast(batch.notable)

    def _sample_publishes(self, deltas: dict[str, int]) -> tuple[list[StoreEvent], int]:
        """The latest few publishes of the channels that moved, for the event log."""
        events: list[StoreEvent] = []
        for name, delta in deltas.items():
            want = min(delta, _LOG_PER_CHANNEL)
            tail = [u for u in self.view.history(name, limit=want + 2) if u["kind"] == "published"][
                -want:
            ]
            events.extend(
                StoreEvent(
                    "published",
                    name,
                    u["producer_id"],
                    u["timestamp"],
                    update=ChannelUpdate(**u),
                )
                for u in tail
            )
        events.sort(key=lambda e: e.update.seq if e.update else 0)
        events = events[-_LOG_PER_BATCH:]
        return events, sum(deltas.values()) - len(events)

    def _log(self, batch: Batch, published: list[StoreEvent], unshown: int) -> None:
        events = sorted([*batch.notable, *published], key=lambda e: e.timestamp)
        self.query_one(EventLog).add(
            events,
            dropped=batch.dropped,
            unshown_publishes=unshown,
            flush_in=8 * self._gap,  # a log that grows relayouts the screen: not too often
        )

    def _toast(self, events: list[StoreEvent]) -> None:
        """Tell the person about rejected payloads and failed jobs, without flooding them.

        One toast per source and channel every ``TOAST_EVERY`` seconds, a few per batch.
        """
        shown = 0
        now = time.monotonic()
        for event in events:
            if shown == _MAX_TOASTS:
                break
            key = (event.kind, event.channel, event.producer_id, event.consumer_id)
            if now - self._toasted.get(key, float("-inf")) < TOAST_EVERY:
                continue
            if event.kind == "validation_failed" and event.message:
                fields = "; ".join(line.strip(" -") for line in event.message.splitlines()[1:])
                if event.consumer_id:
                    text = (
                        f"{event.consumer_id} skipped a value from {event.producer_id} on "
                        f"{event.channel} that does not fit its model: {fields}"
                    )
                else:
                    text = (
                        f"{event.producer_id} sent an invalid payload to {event.channel}: {fields}"
                    )
                self.notify(text, title="Invalid payload rejected", severity="error")
            elif event.diagnostic is not None and event.diagnostic.rule == "job-failed":
                self.notify(event.diagnostic.message, title="Job failed", severity="warning")
            else:
                continue
            self._toasted[key] = now
            shown += 1

    # -- pulling from the view -------------------------------------------------------------

    def refresh_all(self) -> None:
        """Redraw everything from the view."""
        self._findings = None
        self.refresh_channels()
        self.refresh_detail()
        self.refresh_global()

    def refresh_channels(self, channels: list[dict[str, Any]] | None = None) -> None:
        """Channel rows and header totals (from ``channels`` if just read)."""
        self._channels = self.view.channels() if channels is None else channels
        now = self._clock()
        rows = []
        for info in self._channels:
            name = info["name"]
            last = info["last_update"]
            rows.append(
                ChannelRow(
                    name=name,
                    schema=info["schema"] or "",
                    producers=info["producer_count"],
                    consumers=info["consumer_count"],
                    publishes=info["publish_count"],
                    rate=rate(self.rates.current(name)),
                    trend=sparkline(self.rates.rates.get(name, ()), 8),
                    age=age(None if last is None else max(0.0, now - last)),
                )
            )
        channel_list = self.query_one(ChannelList)
        channel_list.rows = rows
        self.totals = Totals(
            len(rows),
            sum(r.producers for r in rows),
            sum(r.consumers for r in rows),
            sum(r.publishes for r in rows),
            self.rates.total(),
        )
        self.query_one(PanelHeader).totals = str(self.totals)
        if self.selected is None and rows:
            self.selected = channel_list.selected or rows[0].name

    def refresh_detail(self) -> None:
        """The selected channel's tabs (only the one showing, plus the preview)."""
        channel = self.selected
        active = self.query_one("#detail", TabbedContent).active
        if channel is None:
            self.query_one(ChannelPreview).state = PreviewState()
            return
        info = next((c for c in self._channels if c["name"] == channel), None)
        schema_name = None if info is None else info["schema"]
        if active == "preview":
            self._refresh_preview(channel, schema_name, self.view.producers(channel))
        elif active == "producers":
            table = self.query_one(ProducersTable)
            table.flags = self._flags()
            table.records = self.view.producers(channel)
        elif active == "consumers":
            self.query_one(ConsumersTable).records = self.view.consumers(channel)
        elif active == "history":
            self.query_one(HistoryPanel).updates = self.view.history(channel)
        elif active == "schema":
            self.query_one(SchemaPanel).schema = self.view.schema(channel)

    def _refresh_preview(
        self, channel: str, schema_name: str | None, producers: list[dict[str, Any]]
    ) -> None:
        holding = [p for p in producers if p["has_value"]]
        newest = max(holding, key=lambda p: p["value_seq"] or 0)["id"] if holding else None
        trend: list[float] = []
        if schema_name == "MetricData":
            for update in self.view.history(channel, limit=60):
                value = update["value"]
                if isinstance(value, dict) and isinstance(value.get("value"), int | float):
                    trend.append(float(value["value"]))
        self.query_one(ChannelPreview).state = PreviewState(
            channel=channel,
            schema_name=schema_name,
            values=self.view.values(channel),
            newest=newest,
            trend=trend,
        )

    def _diagnostics(self) -> list[dict[str, Any]]:
        """The doctor's findings, run again only after registrations, closes or findings."""
        if self._findings is None:
            self._findings = self.view.diagnostics()
        return self._findings

    def _flags(self) -> dict[str, list[str]]:
        flags: dict[str, list[str]] = {}
        for finding in self._diagnostics():
            if finding["channel"] == self.selected:
                flags.setdefault(finding["producer_id"], []).append(finding["rule"])
        return flags

    def refresh_global(self) -> None:
        """The bottom pane that is showing (the others refresh when they are shown)."""
        active = self.query_one("#global", TabbedContent).active
        if active == "doctor":
            self.query_one(DoctorTable).findings = self._diagnostics()
        elif active == "log":
            self.query_one(LogProducersPanel).text = self.view.log_producers()
        elif active == "flow":
            self.query_one(FlowTree).flow = (self.view.producers(), self.view.consumers())

    def sample_rates(self) -> None:
        """Sample publish counts into rates (every second) and redraw the list."""
        channels = self.view.channels()
        counts = {c["name"]: c["publish_count"] for c in channels}
        if self.rates.sample(counts, self._clock()) and not self.paused:
            self.refresh_channels(channels)

    # -- reacting to the person ------------------------------------------------------------

    @on(ConnectionChanged)
    def _connection(self, message: ConnectionChanged) -> None:
        header = self.query_one(PanelHeader)
        if message.status == "disconnected":
            header.notice = "⚠ disconnected (last state shown), reconnecting…"
            self.notify("The store's app went away; reconnecting.", title="Disconnected")
            return
        header.notice = ""
        if message.status == "resync":
            self.query_one(EventLog).add([], dropped=1)
        self.refresh_all()

    @on(ChannelSelected)
    def _channel_selected(self, message: ChannelSelected) -> None:
        self.selected = message.channel

    def watch_selected(self) -> None:
        if self.is_mounted:
            self.refresh_detail()

    @on(TabbedContent.TabActivated, "#detail")
    def _detail_tab(self) -> None:
        self.refresh_detail()

    @on(TabbedContent.TabActivated, "#global")
    def _global_tab(self) -> None:
        self.refresh_global()

    @on(Input.Changed, "#channel-filter")
    def _filter(self, event: Input.Changed) -> None:
        self.query_one(EventLog).filter_text = event.value

    def watch_paused(self, paused: bool) -> None:
        if not self.is_mounted:
            return
        self.query_one(PanelHeader).paused = paused
        if not paused:
            self.apply()
            self.refresh_all()
