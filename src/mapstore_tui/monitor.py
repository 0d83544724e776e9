"""``Monitor``: the panel's body. It owns the view and the feed, and hands data down.

Data flows one way: store events → ``PanelFeed`` (any thread) → ``StoreChanged`` message →
``Monitor`` drains and asks the view for what changed → reactives of the child panels.
Children report up with messages (``ChannelSelected``); none of them touches the store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.reactive import reactive
from textual.timer import Timer
from textual.widgets import Input, TabbedContent, TabPane, Tabs

from mapstore_core import StoreEvent
from mapstore_tui._format import age, rate, sparkline
from mapstore_tui.feed import Batch, PanelFeed
from mapstore_tui.messages import (
    ChannelSelected,
    ConnectionChanged,
    StoreChanged,
    StoreReplaced,
)
from mapstore_tui.rates import RateTracker
from mapstore_tui.sampling import sample_publishes
from mapstore_tui.throttle import RedrawThrottle
from mapstore_tui.toasts import ToastPolicy
from mapstore_tui.view import StoreView
from mapstore_tui.widgets.channel_list import ChannelList, ChannelRow
from mapstore_tui.widgets.channel_preview import ChannelPreview, PreviewState
from mapstore_tui.widgets.doctor import DoctorPanel, DoctorTable
from mapstore_tui.widgets.events import EventLog
from mapstore_tui.widgets.flow import FlowTree
from mapstore_tui.widgets.header import PanelHeader, Totals
from mapstore_tui.widgets.history import HistoryPanel
from mapstore_tui.widgets.log_producers import LogProducersPanel
from mapstore_tui.widgets.processes import producer_key
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
        "leaked",
        "job_failed",
        "fleet",
    }
)
_LOG_PER_CHANNEL = 5
_LOG_PER_BATCH = 20
NARROW = 100
"""Below this many columns the channel list and the tab labels get shorter."""
SHORT = 32
"""Under this many rows the Doctor takes most of the height when it is shown."""
_TAB_LABELS = {
    "preview": ("Preview", "Preview"),
    "producers": ("Producers", "Prod"),
    "consumers": ("Consumers", "Cons"),
    "history": ("History", "Hist"),
    "schema": ("Schema", "Schema"),
}


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
        redraw_clock: Callable[[], float] | None = None,
        extra_panes: Callable[[], Iterable[TabPane]] | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.view = view
        self._clock = clock
        self._extra_panes = extra_panes
        self.feed = PanelFeed(view, lambda: self.post_message(StoreChanged()))
        self.rates = RateTracker()
        self.producer_rates = RateTracker()
        self.throttle = RedrawThrottle(refresh_interval, clock=redraw_clock or clock)
        self.toasts = ToastPolicy(clock)
        self._deferred: Timer | None = None
        self.totals = Totals(0, 0, 0, 0, None)
        self._channels: list[dict[str, Any]] = []
        self._counts: dict[str, int] = {}
        self._findings: list[dict[str, Any]] | None = None
        self._card_order: tuple[str | None, list[str]] = (None, [])
        self._away = False  # disconnected since: the log says when the panel is back
        self._link_lost = False  # a linked store's Redis unreachable (``watch_link``)

    def compose(self) -> ComposeResult:
        yield PanelHeader(id="panel-header")
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
                    with VerticalScroll(id="schema-scroll"):  # a long model scrolls
                        yield SchemaPanel(id="schema-panel")
        with TabbedContent(id="global", initial="events"):
            with TabPane("Events", id="events"):
                yield EventLog(id="event-log")
            with TabPane("Doctor", id="doctor"):
                yield DoctorPanel(id="doctor-panel")
            with TabPane("Log Producers", id="log"):
                yield LogProducersPanel(id="log-producers")
            with TabPane("Data flow", id="flow"):
                yield FlowTree(id="flow-tree")
            if self._extra_panes is not None:
                yield from self._extra_panes()

    def on_mount(self) -> None:
        # Tab goes from the list to what can be acted on in each pane: a tab strip's stop
        # did nothing on enter, and 1-5, l, d, e and f switch the tabs from anywhere.
        for strip in self.query(Tabs):
            strip.can_focus = False
        self.feed.start()
        self.sample_rates()  # the baseline: rates start with the next sample
        self.refresh_all()
        self.set_interval(1.0, self.sample_rates, name="rates")

    def on_unmount(self) -> None:
        self.feed.stop()

    def on_resize(self) -> None:
        self.set_class(self.size.height < SHORT, "-short")
        narrow = self.size.width < NARROW
        self.query_one(ChannelList).narrow = narrow
        self.query_one(EventLog).narrow = narrow
        detail = self.query_one("#detail", TabbedContent)
        for pane, labels in _TAB_LABELS.items():
            detail.get_tab(pane).label = labels[narrow]

    # -- applying store changes ------------------------------------------------------------

    @on(StoreChanged)
    def _store_changed(self) -> None:
        if self.paused:
            return
        wait = self.throttle.wait()
        if wait > 0:
            if self._deferred is None:
                self._deferred = self.set_timer(wait, self._apply_deferred)
            return
        self.apply()

    def _apply_deferred(self) -> None:
        self._deferred = None
        if not self.paused:
            self.apply()

    def apply(self) -> None:
        """Drain the feed, read what changed from the view, redraw what it touched."""
        self.throttle.redrawn()
        batch = self.feed.drain()
        previous = self._counts
        self.refresh_channels()
        self._counts = {c["name"]: c["publish_count"] for c in self._channels}
        deltas = {
            name: count - previous.get(name, 0)
            for name, count in self._counts.items()
            if count != previous.get(name, 0)
        }
        published, unshown = sample_publishes(
            deltas,
            lambda name, limit: self.view.history(name, limit=limit),
            per_channel=_LOG_PER_CHANNEL,
            per_batch=_LOG_PER_BATCH,
        )
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
        for toast in self.toasts.admit(batch.notable):
            self.notify(  # names in it come from producers: never read as markup
                toast.message, title=toast.title, severity=toast.severity, markup=False
            )

    def _log(self, batch: Batch, published: list[StoreEvent], unshown: int) -> None:
        events = sorted([*batch.notable, *published], key=lambda e: e.timestamp)
        self.query_one(EventLog).add(
            events,
            dropped=batch.dropped,
            unshown_publishes=unshown,
            flush_in=8 * self.throttle.gap,  # a log that grows relayouts the screen: not too often
        )

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
        known: list[float] = []  # the header's total is of the rates that are known
        for info in self._channels:
            name = info["name"]
            last = info["last_update"]
            per_second = self.rates.known_rate(name, info["publish_count"], now)
            if per_second is not None:
                known.append(per_second)
            rows.append(
                ChannelRow(
                    name=name,
                    schema=info["schema"] or "",
                    producers=info["producer_count"],
                    consumers=info["consumer_count"],
                    publishes=info["publish_count"],
                    # no rate known yet: "0/s" beside "now" would lie
                    rate="—" if per_second is None else rate(per_second),
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
            sum(known) if known else None,
        )
        self.query_one(PanelHeader).totals = self.totals
        if self.selected is None and channel_list.selected is not None:
            # The first channel that has producers: the three widget channels come first in
            # every store, and a user's own store leaves them empty.
            fed = next((row.name for row in rows if row.producers), None)
            if fed is not None:
                channel_list.select(fed)
            self.selected = channel_list.selected  # None if a filter hides them all

    def producers_with_rates(self, channel: str | None = None) -> list[dict[str, Any]]:
        """The view's producers, each with a ``rate`` (publishes/s over the last seconds).

        The rate is None until it is known (``rates.py``): over a moment, a producer that
        publishes every few seconds would read ``0/s``. Every producer is read each second
        (``sample_rates``), shown or not, so a tab opened late has rates at once.
        """
        now = self._clock()
        producers = []
        for producer in self.view.producers(channel):
            key = _rate_key(producer)
            count = producer["publish_count"]
            self.producer_rates.observe(key, count, now)
            producers.append({**producer, "rate": self.producer_rates.known_rate(key, count, now)})
        return producers

    def refresh_detail(self) -> None:
        """The selected channel's tabs (only the one showing, plus the preview)."""
        channel = self.selected
        active = self.query_one("#detail", TabbedContent).active
        if channel is None:  # nothing listed (a filter hides every channel): nothing shown
            self.query_one(ChannelPreview).state = PreviewState()
            self.query_one(ProducersTable).records = []
            self.query_one(ConsumersTable).records = []
            self.query_one(HistoryPanel).show(None, [])
            self.query_one(SchemaPanel).show(None, None)
            return
        info = next((c for c in self._channels if c["name"] == channel), None)
        schema_name = None if info is None else info["schema"]
        if active == "preview":
            self._refresh_preview(channel, schema_name, self.view.producers(channel))
        elif active == "producers":
            table = self.query_one(ProducersTable)
            producers = self.producers_with_rates(channel)
            table.rates = {producer_key(p): p["rate"] for p in producers if p["rate"] is not None}
            table.flags = self._flags()
            table.records = producers
        elif active == "consumers":
            self.query_one(ConsumersTable).records = self.view.consumers(channel)
        elif active == "history":
            self.query_one(HistoryPanel).show(channel, self.view.history(channel))
        elif active == "schema":
            self.query_one(SchemaPanel).show(channel, self.view.schema(channel))

    def _refresh_preview(
        self, channel: str, schema_name: str | None, producers: list[dict[str, Any]]
    ) -> None:
        holding = [p for p in producers if p["has_value"]]
        newest_first = [
            _value_key(p["id"], p.get("process"))
            for p in sorted(holding, key=lambda p: p["value_seq"] or 0, reverse=True)
        ]
        trends: dict[str, list[float]] = {}
        if schema_name == "MetricData":
            for update in self.view.history(channel, limit=60):
                value = update["value"]
                if isinstance(value, dict) and isinstance(value.get("value"), int | float):
                    key = _value_key(update["producer_id"], update.get("process"))
                    trends.setdefault(key, []).append(float(value["value"]))
        # Cards come newest first when the channel is shown (or a producer comes or goes),
        # then keep their places: cards that swap on every publish cannot be read.
        known_channel, order = self._card_order
        if known_channel != channel or set(order) != set(newest_first):
            order = newest_first
            self._card_order = (channel, order)
        self.query_one(ChannelPreview).state = PreviewState(
            channel=channel,
            schema_name=schema_name,
            values=self.view.values(channel),
            newest=newest_first[0] if newest_first else None,
            order=order,
            trends=trends,
        )

    def _diagnostics(self) -> list[dict[str, Any]]:
        """The doctor's findings, run again only after registrations, closes or findings."""
        if self._findings is None:
            self._findings = self.view.diagnostics()
        return self._findings

    def _flags(self) -> dict[str, list[str]]:
        return {
            producer: rules
            for (channel, producer), rules in self.doctor_flags().items()
            if channel == self.selected
        }

    def doctor_flags(self) -> dict[tuple[str, str], list[str]]:
        """The doctor's rules firing for each (channel, producer id)."""
        flags: dict[tuple[str, str], list[str]] = {}
        for finding in self._diagnostics():
            key = (finding["channel"], finding["producer_id"])
            if finding["rule"] not in flags.setdefault(key, []):
                flags[key].append(finding["rule"])
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

    def watch_link(self) -> None:
        """Say when a linked store cannot reach Redis (every second, with the rates).

        Nothing else would: the fleet's rows keep what was last read, heartbeats "now".
        """
        status = getattr(self.view, "link_status", None)
        lost = status == "disconnected"
        if lost == self._link_lost:
            return
        self._link_lost = lost
        header = self.query_one(PanelHeader)
        if lost:
            header.notice = "⚠ Redis unreachable — the fleet as last read; reconnecting…"
            self.notify(
                "The link to Redis is down: what is shown is the fleet as last read.",
                title="Redis unreachable",
                severity="warning",
            )
        else:
            header.notice = ""
            self.query_one(EventLog).add([], note="the link to Redis is back")

    def sample_rates(self) -> None:
        """Sample publish counts into rates (every second) and redraw the list."""
        self.watch_link()
        channels = self.view.channels()
        counts = {c["name"]: c["publish_count"] for c in channels}
        now = self._clock()
        # Producers too, whether a tab shows them or not: rates need readings over seconds.
        producer_counts = {_rate_key(p): p["publish_count"] for p in self.view.producers()}
        for key, count in producer_counts.items():
            self.producer_rates.observe(key, count, now)
        self.producer_rates.forget(set(producer_counts))
        if self.rates.sample(counts, now) and not self.paused:
            self.refresh_channels(channels)
            if self.query_one("#detail", TabbedContent).active == "producers":
                self.refresh_detail()  # rates and ages move even on a quiet channel

    # -- reacting to the person ------------------------------------------------------------

    @on(ConnectionChanged)
    def _connection(self, message: ConnectionChanged) -> None:
        """Say what the connection to the app is; redraw when a fresh state arrived.

        Everything shown is read from the local mirror, so nothing here waits for the app.
        """
        header = self.query_one(PanelHeader)
        status = message.status
        self.app.refresh_bindings()  # another run of the app may allow dry runs, or not
        if status == "unresponsive":
            header.notice = "⚠ the app is not responding — last state shown"
            return
        if status == "disconnected":
            self._away = True
            header.notice = "⚠ disconnected (last state shown), reconnecting…"
            self.notify(
                message.detail or "The store's app went away; reconnecting.",
                title="Disconnected",
                markup=False,  # the endpoint's own words may be in it
            )
            return
        if status == "refused":
            why = f" ({message.code})" if message.code else ""
            header.notice = f"⚠ the app refused the panel{why}; retrying — last state shown"
            self.notify(
                message.detail or "The app refused the connection.",
                title="Refused",
                severity="error",
                markup=False,
            )
            return
        header.notice = ""
        if status == "resync":
            why = message.detail or "events were lost"
            self.query_one(EventLog).add([], note=f"{why}; caught up from a fresh state")
        elif status == "connected" and self._away:
            self._away = False
            self.query_one(EventLog).add(
                [], note="reconnected: what changed meanwhile is in the panes, not in this log"
            )
            # Maybe another run of the app: counts read before are no base for a rate.
            self._restart_rates()
        self.refresh_all()

    @on(StoreReplaced)
    def _replaced(self, message: StoreReplaced) -> None:
        """Start over from the view's new state: counts, rates, toasts and the log.

        What the feed holds was told before the jump: history now, dropped.
        """
        self.feed.drain()
        self._restart_rates()
        self.toasts = ToastPolicy(self._clock)
        self.query_one(EventLog).replace(message.recent)
        self.refresh_all()
        self._counts = {c["name"]: c["publish_count"] for c in self._channels}

    def _restart_rates(self) -> None:
        """Forget every reading: rates show ``—`` until they are known again (``rates.py``)."""
        self.rates = RateTracker()
        self.producer_rates = RateTracker()
        self.sample_rates()  # the baseline: rates start with the next sample

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
        # On a short terminal the Doctor takes most of the height: its findings and the
        # highlighted one written out do not fit the Events pane's share (app.tcss).
        bottom = self.query_one("#global", TabbedContent)
        bottom.set_class(bottom.active == "doctor", "-doctor")
        self.refresh_global()

    @on(Input.Changed, "#channel-filter")
    def _filter(self, event: Input.Changed) -> None:
        self.query_one(EventLog).filter_text = event.value

    def watch_paused(self, paused: bool) -> None:
        if not self.is_mounted:
            return
        self.query_one(PanelHeader).paused = paused
        self.app.refresh_bindings()  # the footer says Resume while paused
        if not paused:
            self.apply()
            self.refresh_all()


def _value_key(producer_id: str, process: str | None) -> str:
    """How ``values()`` names a producer: its id, and ``id@process`` for a remote one."""
    return producer_id if process is None else f"{producer_id}@{process}"


def _rate_key(producer: dict[str, Any]) -> str:
    """A producer's key in ``producer_rates``: channel, id and process (a fleet has several)."""
    return f"{producer['channel']}\x00{producer['id']}\x00{producer.get('process') or ''}"
