"""The panel as a person uses it: keys, selections, forms, jobs, filters, floods."""

from __future__ import annotations

import asyncio
import math
import threading
import time

import pytest
from rich.text import Text
from textual import events
from textual.widgets import DataTable, Label, Static, TabbedContent, TextArea

from mapstore_core import MapObjectStore, PublishValidationError, create_widget_publisher
from mapstore_tui import MapStoreApp
from mapstore_tui._format import compact
from mapstore_tui.demo.form_screen import FormScreen
from mapstore_tui.monitor import Monitor
from mapstore_tui.screens.help import HelpScreen
from mapstore_tui.widgets.channel_list import ChannelList
from mapstore_tui.widgets.channel_preview import ChannelPreview
from mapstore_tui.widgets.doctor import DoctorTable
from mapstore_tui.widgets.events import EventLog
from mapstore_tui.widgets.flow import FlowTree
from mapstore_tui.widgets.header import PanelHeader
from mapstore_tui.widgets.history import HistoryPanel
from mapstore_tui.widgets.jobs import JobsTable
from mapstore_tui.widgets.previews import MetricWidget, ParagraphWidget, TableWidget
from mapstore_tui.widgets.tables import ConsumersTable, ProducersTable
from tests.poll import apoll_until

from .helpers import SIZE, Toasts, make_demo


def _palette_hits(app) -> bool:
    from textual.command import CommandList

    lists = app.screen.query(CommandList)
    return bool(lists) and lists.first().option_count > 0


def column(table: DataTable, index: int) -> list[str]:
    """A column's cells as drawn (plain text, without the one-cell gap)."""
    return [
        cell.plain.strip() if isinstance(cell, Text) else str(cell)
        for cell in (table.get_row_at(row)[index] for row in range(table.row_count))
    ]


def global_tab(app) -> str:
    return app.query_one("#global", TabbedContent).active


def detail(app, tab: str) -> None:
    app.query_one("#detail", TabbedContent).active = tab


async def test_channels_are_listed_and_selection_drives_the_preview() -> None:
    app = make_demo()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        channels = app.query_one(ChannelList)
        assert column(channels.table, 0) == ["paragraph-content", "table-data", "metric-data"]
        assert app.monitor.selected == "paragraph-content"
        assert app.query_one(ParagraphWidget).value.title == "Welcome"
        await pilot.press("down")
        await pilot.pause()
        assert app.monitor.selected == "table-data"
        table_preview = app.query_one(ChannelPreview).query_one(TableWidget)
        assert table_preview.value.title == "Market data (fetch #1)"
        caption = app.query_one(ChannelPreview).query_one(".caption", Label).content
        assert str(caption) == "TableData · from market-data-service (1 producer with a value)"
        assert isinstance(caption, Text)  # the producer id in bold, as text (never markup)
        assert [
            caption.plain[s.start : s.end] for s in caption.spans if "bold" in str(s.style)
        ] == ["market-data-service"]
        assert "market-data-service" in str(
            app.query_one(ChannelPreview).query_one(".caption").content
        )


async def test_a_users_store_opens_on_its_own_first_channel_with_producers() -> None:
    """Every store has the three widget channels, listed first: a user's store leaves them
    empty, and the panel opened on an empty paragraph-content."""
    store = MapObjectStore()
    store.register_consumer("audit-log", "audit-viewer")  # a channel without producers
    orders = store.register_producer("orders", "order-service")
    orders.publish({"id": 7, "total": 12.5})
    app = MapStoreApp(store=store, refresh_interval=0)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        channels = app.query_one(ChannelList)
        assert column(channels.table, 0)[:3] == ["paragraph-content", "table-data", "metric-data"]
        assert app.monitor.selected == channels.selected == "orders"
        caption = app.query_one(ChannelPreview).query_one(".caption", Label).content
        assert str(caption) == "raw · from order-service (1 producer with a value)"


async def test_header_shows_totals() -> None:
    app = make_demo()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        header = app.query_one(PanelHeader).text
        assert header == (
            "📤 MapStore · demo  │  3 channels · 5 producers · 4 consumers · 4 msgs · —/s"
        )  # no time has passed: no rate is known yet
        for _ in range(4):
            app.sources.tick_realtime()
        app.clock.advance(1.0)
        app.monitor.sample_rates()
        # metric-data's 6 since mount; paragraph and table published once each: no pace yet
        assert app.query_one(PanelHeader).text.endswith("· 8 msgs · 6.0/s")


async def test_producers_tab_shows_where_each_was_registered() -> None:
    app = make_demo()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()  # first paint done (the demo's sources start then)
        await pilot.press("down", "down")
        detail(app, "producers")
        await pilot.pause()
        table = app.query_one(ProducersTable)
        assert column(table, 0) == ["realtime-service", "polling-service"]
        line = table.records[0]["registered_at"].rsplit(":", 1)[1]
        assert table.records[0]["registered_at"] == f"src/mapstore_tui/demo/realtime.py:{line}"
        shown = column(table, 2)[0]  # whole, or cut from the left on a folder boundary
        full = f"src/mapstore_tui/demo/realtime.py:{line}"
        assert shown == full or (shown.startswith("…/") and full.endswith(shown[1:]))
        assert column(table, 7) == ["ok", "ok"]


async def test_consumers_tab_lists_the_dashboard_widgets() -> None:
    app = make_demo()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()  # first paint done (the demo's sources start then)
        await pilot.press("down")
        detail(app, "consumers")
        await pilot.pause()
        table = app.query_one(ConsumersTable)
        assert column(table, 0) == ["table-widget"]
        assert column(table, 5) == ["TableData"]


async def test_history_marks_two_updates_and_shows_their_difference() -> None:
    app = make_demo()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()  # first paint done (the demo's sources start then)
        await pilot.press("down", "down")
        app.sources.tick_realtime()
        await pilot.pause()
        detail(app, "history")
        await pilot.pause()
        history = app.query_one(HistoryPanel)
        table = history.query_one(DataTable)
        assert table.row_count == 3
        table.focus()
        await pilot.press("enter", "down", "enter")
        await pilot.pause()
        assert len(history.marked) == 2
        diff = history.query_one("#history-diff", Static).content.code
        assert diff.startswith("--- seq")
        assert '-  "value":' in diff and '+  "value":' in diff


async def test_history_tab_then_enter_marks_and_rows_stay_under_the_cursor() -> None:
    """Tab from the list lands on the history itself (not on the tab strip, where enter did
    nothing), and updates arriving while a person picks two adjacent rows push no other
    row under the cursor: the marks are the rows they pressed enter on."""
    app = make_demo()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.query_one(ChannelList).select("metric-data")
        for _ in range(4):
            app.sources.tick_realtime()
        await pilot.press("4")
        await pilot.pause()
        history = app.query_one(HistoryPanel)
        table = history.query_one(DataTable)
        await pilot.press("tab")
        assert app.focused is table
        await pilot.press("down", "down")
        seq = lambda: int(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)  # noqa: E731
        picked = seq()
        await pilot.press("enter")
        for _ in range(2):  # a realtime source goes on publishing
            app.sources.tick_realtime()
            await pilot.pause()
        assert seq() == picked and table.cursor_row == 4
        await pilot.press("down")
        neighbour = seq()
        app.sources.tick_realtime()
        await pilot.pause()
        await pilot.press("enter")
        assert sorted(history.marked) == sorted([picked, neighbour])
        seqs = [u["seq"] for u in reversed(history.updates)]  # as listed: newest first
        assert seqs.index(neighbour) == seqs.index(picked) + 1  # adjacent rows
        assert history.query_one("#history-diff", Static).content.code.startswith("--- seq")


async def test_schema_tab_shows_fields_and_raw_channels_say_so() -> None:
    app = make_demo(antipatterns=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()  # first paint done (the demo's sources start then)
        await pilot.press("down", "down")
        detail(app, "schema")
        await pilot.pause()
        schema = app.query_one("#schema-panel", Static)
        assert schema.content.title.plain.startswith("MetricData")
        assert [field.name for field in schema.content.fields] == [
            "label", "value", "change", "change_type"
        ]  # fmt: skip
        await pilot.press("down")
        await pilot.pause()
        assert "No schema" in str(schema.content)


async def test_l_shows_log_producers_text_equal_to_the_store() -> None:
    app = make_demo()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()  # first paint done (the demo's sources start then)
        await pilot.press("l")
        await pilot.pause()
        assert global_tab(app) == "log"
        text = app.query_one("#log-producers-text", TextArea).text
        assert text == app.store.log_producers()
        assert text.startswith("📤 Channel: paragraph-content")
        app.sources.summaries.submit()
        await pilot.pause()
        assert app.query_one("#log-producers-text", TextArea).text == app.store.log_producers()
        assert "(bridge)" in app.query_one("#log-producers-text", TextArea).text


async def test_doctor_lists_every_antipattern() -> None:
    app = make_demo(antipatterns=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()  # first paint done (the demo's sources start then)
        await pilot.press("d")
        await pilot.pause()
        assert global_tab(app) == "doctor"
        doctor = app.query_one(DoctorTable)
        assert {f["rule"] for f in doctor.findings} == {
            "non-descriptive-id",
            "duplicate-source",
            "producer-in-widget",
            "leaked-producer",
            "registration-churn",
            "unvalidated-publish",
        }
        assert doctor.row_count == len(doctor.findings)
        detail(app, "producers")
        app.query_one(ChannelList).select("price-ticks")
        await pilot.pause()
        table = app.query_one(ProducersTable)
        assert table.flags == {
            "price-ticker-a": ["duplicate-source"],
            "price-ticker-b": ["duplicate-source"],
        }
        assert all(cell.startswith("duplicate-") for cell in column(table, 7))


async def test_form_shows_problems_inline_then_publishes() -> None:
    app = make_demo()
    toasts = Toasts()
    app.notify = toasts  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()  # first paint done (the demo's sources start then)
        await pilot.press("i")
        await pilot.pause()
        assert isinstance(app.screen, FormScreen)
        await pilot.click("#form-submit")
        await pilot.pause()
        problems = [str(label.content) for label in app.screen.query(".problem")]
        assert problems == ["⚠ a title is required", "⚠ some text is required"]
        await pilot.click("#form-title")
        await pilot.press(*"Standup")
        app.screen.query_one("#form-content", TextArea).insert("All green")
        await pilot.click("#form-submit")
        await pilot.pause()
        assert not isinstance(app.screen, FormScreen)
        value = app.store.values("paragraph-content")["user-input-form"]
        assert (value.title, value.content) == ("Standup", "All green")
        assert "Form" in toasts.titles()


async def test_form_cancel_publishes_nothing() -> None:
    app = make_demo()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()  # first paint done (the demo's sources start then)
        await pilot.press("i")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, FormScreen)
        assert "user-input-form" not in app.store.values("paragraph-content")


async def test_job_shows_progress_then_the_paragraph() -> None:
    app = make_demo()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()  # first paint done (the demo's sources start then)
        await pilot.press("j")
        await pilot.pause()
        assert global_tab(app) == "jobs"
        [job_id] = app.sources.summaries.running
        app.sources.summaries._plans[job_id].fails = False  # this test wants a success
        app.sources.tick_jobs()
        await pilot.pause()
        jobs = app.query_one(JobsTable)
        assert "running" in str(jobs.get_row_at(0)[2]) and "%" in str(jobs.get_row_at(0)[3])
        while app.sources.summaries.running:
            app.sources.tick_jobs()
        await pilot.pause()
        assert "completed" in str(jobs.get_row_at(0)[2])
        assert app.monitor.selected == "paragraph-content"
        paragraph = app.query_one(ChannelPreview).query_one(ParagraphWidget)
        assert paragraph.value.title == f"AI summary ({job_id})"


async def test_failing_job_raises_a_toast_and_a_doctor_finding() -> None:
    app = make_demo()
    toasts = Toasts()
    app.notify = toasts  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()  # first paint done (the demo's sources start then)
        job_id = app.sources.summaries.submit(fail=True)
        while app.sources.summaries.running:
            app.sources.tick_jobs()
        await pilot.pause()
        assert "Job failed" in toasts.titles()
        await pilot.press("d")
        await pilot.pause()
        assert [f["rule"] for f in app.query_one(DoctorTable).findings] == ["job-failed"]
        assert job_id in app.query_one(DoctorTable).findings[0]["producer_id"]


async def test_invalid_payloads_raise_a_toast_and_an_event() -> None:
    app = make_demo(antipatterns=True)
    toasts = Toasts()
    app.notify = toasts  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()  # first paint done (the demo's sources start then)
        for _ in range(4):  # the flaky sensor sends a bad payload every other tick
            app.sources.tick_antipatterns()
            await pilot.pause()
        rejected = [
            c["message"] for c in toasts.calls if c.get("title") == "Invalid payload rejected"
        ]
        sensor = [m for m in rejected if m.startswith("flaky-sensor sent an invalid payload")]
        assert len(sensor) == 1  # one toast per source per 10 s, not one per payload
        assert "value: Input should be a valid number" in sensor[0]
        skipped = [m for m in rejected if m.startswith("metric-widget skipped a value")]
        assert skipped and "from legacy-metrics-adapter" in skipped[0]
        lines = [line.search for line in app.query_one(EventLog).lines_kept]
        failures = [
            line for line in lines if "validation_failed" in line and "flaky-sensor" in line
        ]
        assert len(failures) == 3  # every rejection is in the event log


async def test_r_refreshes_market_data() -> None:
    app = make_demo()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()  # first paint done (the demo's sources start then)
        await pilot.press("r")
        await pilot.pause()
        assert column(app.query_one(ChannelList).table, 3)[1] == "2"
        assert app.store.get("table-data").title == "Market data (fetch #2)"


async def test_p_pauses_the_panel_not_the_store() -> None:
    app = make_demo()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()  # first paint done (the demo's sources start then)
        await pilot.press("p")
        await pilot.pause()
        assert app.monitor.paused and "PAUSED" in app.query_one(PanelHeader).text
        app.sources.tick_realtime()
        await pilot.pause()
        msgs = column(app.query_one(ChannelList).table, 3)
        assert msgs[2] == "2"  # frozen
        assert [c.publish_count for c in app.store.channels()][2] == 3  # the store moved on
        await pilot.press("p")
        await pilot.pause()
        assert not app.monitor.paused
        assert "PAUSED" not in app.query_one(PanelHeader).text
        assert column(app.query_one(ChannelList).table, 3)[2] == "3"


async def test_slash_filters_channels_and_events() -> None:
    app = make_demo()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()  # first paint done (the demo's sources start then)
        await pilot.press("slash")
        await pilot.press(*"metric")
        await pilot.pause()
        assert column(app.query_one(ChannelList).table, 0) == ["metric-data"]
        log = app.query_one(EventLog)
        assert log.filter_text == "metric"
        assert all("metric" in str(line) for line in log.lines) and log.lines
        await pilot.press("escape")
        await pilot.pause()
        assert len(column(app.query_one(ChannelList).table, 0)) == 3
        assert log.filter_text == ""


async def test_a_filter_that_hides_every_channel_shows_no_channels_detail() -> None:
    app = make_demo()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.query_one(ChannelList).select("metric-data")
        await pilot.press("2", "slash", *"nothing-is-called-this")
        await pilot.pause()
        assert column(app.query_one(ChannelList).table, 0) == []
        assert app.monitor.selected is None
        assert app.query_one(ProducersTable).row_count == 0  # not metric-data's producers
        caption = app.query_one(ChannelPreview).query_one(".caption", Label).content
        assert str(caption) == "Select a channel."
        for tab in ("consumers", "history", "schema"):  # keys would go to the filter field
            app.action_detail(tab)
            await pilot.pause()
        assert app.query_one(ConsumersTable).row_count == 0
        assert app.query_one(HistoryPanel).query_one(DataTable).row_count == 0
        assert str(app.query_one("#schema-panel", Static).content) == "Select a channel."
        await pilot.press("escape")  # the filter goes: a channel is shown again
        await pilot.pause()
        assert app.monitor.selected == "paragraph-content"
        schema = app.query_one("#schema-panel", Static).content
        assert schema.title.plain.startswith("ParagraphContent")


async def test_question_mark_opens_help_and_escape_closes_it() -> None:
    app = make_demo()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()  # first paint done (the demo's sources start then)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        keys = dict(app.key_help())
        assert keys["j"] == "AI job" and keys["l"] == "Log Producers" and keys["/"] == "Filter"
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


async def test_command_palette_runs_the_same_actions() -> None:
    app = make_demo()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()  # first paint done (the demo's sources start then)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Doctor")
        await apoll_until(
            lambda: _palette_hits(app), what="the palette's search", pause=pilot.pause
        )
        await pilot.press("enter")
        await pilot.pause()
        assert global_tab(app) == "doctor"


async def test_data_flow_tree_goes_from_sources_to_consumers() -> None:
    app = make_demo()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()  # first paint done (the demo's sources start then)
        await pilot.press("f")
        await pilot.pause()
        tree = app.query_one(FlowTree)
        sources = [str(node.label) for node in tree.root.children]
        assert any("market-data-service" in s for s in sources)
        market = next(n for n in tree.root.children if "market-data-service" in str(n.label))
        [channel] = market.children
        assert "table-data" in str(channel.label)
        assert ["table-widget" in str(leaf.label) for leaf in channel.children] == [True]


async def test_q_quits() -> None:
    app = make_demo()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()  # first paint done (the demo's sources start then)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0
    assert app.store.producers() == []  # the sources closed on exit


async def test_embedding_over_a_users_store_and_other_threads() -> None:
    store = MapObjectStore()
    publisher = create_widget_publisher("metric-data", "cpu-service", store=store)
    raw = store.register_producer("odd-values", "odd-source")
    raw.publish({"when": object(), "nested": [{"deep": list(range(50))}], "text": "x" * 5_000})
    app = MapStoreApp(store=store, refresh_interval=0)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        thread = threading.Thread(target=lambda: publisher.publish({"label": "CPU", "value": 0.5}))
        thread.start()
        thread.join()
        await apoll_until(
            lambda: app.monitor.totals.messages == 2, what="the publish to show", pause=pilot.pause
        )
        await pilot.press("down", "down")
        await pilot.pause()
        metric = app.query_one(ChannelPreview).query_one(MetricWidget)
        assert metric.value.value == 0.5
        app.query_one(ChannelList).select("odd-values")
        await pilot.pause()
        text = str(app.query_one("#preview-json-text", Static).content)
        assert "<object object at" in text and "deep" in text


async def test_flood_from_a_thread_keeps_keys_working_and_shows_the_last_value() -> None:
    """Publishes as fast as a thread can for about two seconds while keys are pressed.

    Keys are posted as a terminal would send them and each must take effect; Pilot.press
    would also wait for the app to be idle, which a flood by design never lets happen.
    """
    store = MapObjectStore()
    publisher = create_widget_publisher("metric-data", "flood-service", store=store)
    app = MapStoreApp(store=store)  # the real redraw rate: 1/30 s
    stop = threading.Event()
    sent = [0]

    def flood() -> None:
        while not stop.is_set():
            sent[0] += 1
            publisher.publish({"label": "Flood", "value": sent[0]})

    async def press(key: str, tab: str) -> None:
        app.post_message(events.Key(key, key))
        # asyncio.sleep, not pilot.pause: that waits for the app to be idle, never in a flood
        await apoll_until(
            lambda: global_tab(app) == tab,
            what=f"key {key!r} to take effect during the flood",
            pause=asyncio.sleep,
        )

    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()  # first paint done (the demo's sources start then)
        await pilot.press("down", "down")
        thread = threading.Thread(target=flood)
        thread.start()
        try:
            # Keys for about two seconds of flood: the time passing is what is tested, so this
            # is a duration, not a wait for a condition.
            deadline = time.monotonic() + 2.0
            presses = 0
            while time.monotonic() < deadline or presses < 4:
                key, tab = [("d", "doctor"), ("l", "log"), ("e", "events"), ("f", "flow")][
                    presses % 4
                ]
                await press(key, tab)
                presses += 1
        finally:
            stop.set()
            thread.join()
        app.monitor.apply()
        await pilot.pause()
        assert sent[0] > 1_000
        assert app.query_one(ChannelPreview).query_one(MetricWidget).value.value == sent[0]
        assert column(app.query_one(ChannelList).table, 3)[2] == compact(sent[0])


async def test_bound_preview_widget_consumes_and_cleans_up() -> None:
    from textual.app import App, ComposeResult

    store = MapObjectStore()
    publisher = create_widget_publisher("metric-data", "users-service", store=store)

    class Dashboard(App[None]):
        def compose(self) -> ComposeResult:
            yield MetricWidget(store=store, consumer_id="users-widget")

    app = Dashboard()
    async with app.run_test() as pilot:
        assert [c.id for c in store.consumers()] == ["users-widget"]
        publisher.publish({"label": "Users", "value": 3, "change": 1, "change_type": "increase"})
        publisher.publish({"label": "Users", "value": 5, "change": 2, "change_type": "increase"})
        await pilot.pause()
        widget = app.query_one(MetricWidget)
        assert widget.value.value == 5 and widget.trend == [3.0, 5.0]
        assert "▲ +2" in str(widget.query_one(".change").content)
    assert store.consumers() == []  # unmounted: the consumer was closed
    assert [d.rule for d in store.diagnostics()] == []  # widgets consume, never produce


async def test_a_bound_metric_widget_never_gets_nan_or_infinity() -> None:
    """A NaN in the sparkline raised in Textual's renderer and stopped the user's app."""
    from textual.app import App, ComposeResult
    from textual.widgets import Sparkline

    store = MapObjectStore()
    publisher = create_widget_publisher("metric-data", "latency-service", store=store)
    legacy = store.register_producer("metric-data", "legacy-adapter")  # stored as given

    class Dashboard(App[None]):
        def compose(self) -> ComposeResult:
            yield MetricWidget(store=store, consumer_id="latency-widget")

    app = Dashboard()
    async with app.run_test() as pilot:
        publisher.publish({"label": "Latency", "value": 12.5})
        for number in (math.nan, math.inf):
            with pytest.raises(PublishValidationError):
                publisher.publish({"label": "Latency", "value": number})
            legacy.publish({"label": "Latency", "value": number})
            await pilot.pause()
        widget = app.query_one(MetricWidget)
        assert widget.value.value == 12.5 and widget.trend == [12.5]
        widget.trend = [1.0, math.nan, 2.0, -math.inf]  # a parent may set it by hand
        await pilot.pause()
        assert widget.query_one(Sparkline).data == [1.0, 2.0]
    # (an exception in the app would be raised here, as the run ends)


async def test_monitor_is_not_touched_from_other_threads() -> None:
    """The feed only buffers; the UI thread applies (the store callback never redraws)."""
    store = MapObjectStore()
    publisher = store.register_producer("ticks", "tick-source")
    app = MapStoreApp(store=store, refresh_interval=0)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        monitor = app.query_one(Monitor)
        ui_thread = threading.get_ident()
        applied_in = []
        original = monitor.apply

        def spy() -> None:
            applied_in.append(threading.get_ident())
            original()

        monitor.apply = spy  # type: ignore[method-assign]
        thread = threading.Thread(target=lambda: [publisher.publish(n) for n in range(100)])
        thread.start()
        thread.join()
        await apoll_until(
            lambda: monitor.totals.messages == 100, what="the publishes to show", pause=pilot.pause
        )
        assert applied_in and set(applied_in) == {ui_thread}
        assert len(applied_in) < 100  # coalesced


async def test_c_copies_the_log_producers_text() -> None:
    app = make_demo()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()  # first paint done (the demo's sources start then)
        await pilot.press("l")
        app.query_one("#log-producers-text", TextArea).focus()
        await pilot.press("c")
        await pilot.pause()
        assert app.clipboard == app.store.log_producers()


async def test_v_dry_runs_a_payload_without_delivering_it() -> None:
    from mapstore_tui.screens.dry_run import DryRunScreen

    app = make_demo()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("down", "down", "v")
        await pilot.pause()
        assert isinstance(app.screen, DryRunScreen)
        editor = app.screen.query_one("#dry-run-payload", TextArea)
        assert '"label": "API latency (ms, polled)"' in editor.text  # the newest value
        assert app.focused is editor  # typing edits the payload at once
        await pilot.press("space")
        assert editor.text.startswith(" {")
        result = app.screen.query_one("#dry-run-result", Static)

        async def verdict() -> str:
            """The verdict, once the worker's answer has arrived (a message)."""
            await pilot.press("ctrl+s")
            return await apoll_until(
                lambda: "checking" not in str(result.content) and str(result.content),
                what="the verdict",
                pause=pilot.pause,
            )

        editor.load_text("{oops")
        assert "not JSON" in await verdict()
        editor.load_text('{"label": 3}')
        text = await verdict()
        assert "invalid MetricData" in text and "would reach: metric-widget" in text
        assert "[b]label[/]: Input should be a valid string" in text
        before = app.store.channels()[2].publish_count
        editor.load_text('{"label": "ok", "value": 1}')
        assert "✔ valid" in await verdict()
        assert app.store.channels()[2].publish_count == before  # nothing was published
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, DryRunScreen)


async def test_a_resync_says_in_the_event_log_what_was_lost_and_that_it_caught_up() -> None:
    from mapstore_tui.messages import ConnectionChanged

    app = MapStoreApp(store=MapObjectStore(), clock=lambda: 0.0)
    async with app.run_test(size=SIZE) as pilot:
        monitor = app.query_one(Monitor)
        monitor.post_message(
            ConnectionChanged("resync", "12 events were lost (the client fell behind)")
        )
        await pilot.pause()
        lines = [line.text.plain for line in app.query_one(EventLog).lines_kept]
        assert lines[-1] == (
            "… 12 events were lost (the client fell behind); caught up from a fresh state"
        )
        assert app.query_one(PanelHeader).notice == ""
        monitor.post_message(ConnectionChanged("disconnected", "the app went away"))
        await pilot.pause()
        assert "disconnected" in app.query_one(PanelHeader).notice
        monitor.post_message(ConnectionChanged("connected"))
        await pilot.pause()
        lines = [line.text.plain for line in app.query_one(EventLog).lines_kept]
        assert lines[-1].startswith("… reconnected: what changed meanwhile is in the panes")
        assert app.query_one(PanelHeader).notice == ""
