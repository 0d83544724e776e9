"""The panel as a person first meets it: everything fits at 140x45 and 80x24, every pane
has a key, the producers overview, one card per producer, and the small things that were off."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text
from textual import events
from textual.message import Message
from textual.notifications import Notification, Notify
from textual.pilot import Pilot
from textual.widgets import Checkbox, DataTable, Static, TabbedContent

from mapstore_core import MapObjectStore, StoreEvent, create_widget_publisher
from mapstore_tui import MapStoreApp
from mapstore_tui.demo.form_screen import FormScreen
from mapstore_tui.screens.dry_run import DryRunScreen
from mapstore_tui.screens.help import HelpScreen
from mapstore_tui.screens.overview import OverviewTable, ProducersOverview
from mapstore_tui.widgets.channel_list import ChannelList
from mapstore_tui.widgets.channel_preview import ChannelPreview
from mapstore_tui.widgets.doctor import DoctorTable
from mapstore_tui.widgets.events import EventLog, describe_event
from mapstore_tui.widgets.flow import FlowTree
from mapstore_tui.widgets.footer import PanelFooter
from mapstore_tui.widgets.header import PanelHeader
from mapstore_tui.widgets.history import HistoryPanel
from mapstore_tui.widgets.previews import MetricWidget
from mapstore_tui.widgets.tables import ProducersTable
from tests.poll import apoll_until

from ..conftest import FakeClock
from .helpers import SIZE, SMALL, Toasts, make_demo


def cells(table: DataTable, index: int) -> list[str]:
    return [
        cell.plain.strip() if isinstance(cell, Text) else str(cell)
        for cell in (table.get_row_at(row)[index] for row in range(table.row_count))
    ]


def drawn_width(table: DataTable) -> int:
    return sum(column.get_render_width(table) for column in table.columns.values())


def detail_tab(app) -> str:
    return app.query_one("#detail", TabbedContent).active


async def test_every_producers_column_is_on_screen_at_140x45() -> None:
    app = make_demo(antipatterns=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("2")
        app.query_one(ChannelList).select("metric-data")
        await pilot.pause()
        table = app.query_one(ProducersTable)
        labels = [str(c.label).strip() for c in table.columns.values()]
        assert labels == [
            "Producer", "Kind", "Registered at", "Msgs", "Rate", "Last", "State", "Doctor"
        ]  # fmt: skip
        assert drawn_width(table) <= table.scrollable_content_region.width
        where = cells(table, 2)
        assert all(w.startswith(("src/", "…/")) and w.rsplit(":", 1)[1].isdigit() for w in where)
        ids = [record["id"] for record in table.records]
        doctor = dict(zip(ids, cells(table, 7), strict=True))
        assert doctor["realtime-service"] == "ok"
        assert doctor["legacy-metrics-adapter"] == "unvalidated-publish"  # whole, not cut
        state = dict(zip(ids, cells(table, 6), strict=True))
        assert state["legacy-metrics-adapter"] == "value raw"
        # the ids give way instead, cut in the middle: the two services stay apart
        producers = cells(table, 0)
        assert len(set(producers)) == len(producers)
        assert all(p == i or "…" in p for p, i in zip(producers, ids, strict=True))
        # the channel list is only as wide as its content
        channel_list = app.query_one(ChannelList)
        assert channel_list.outer_size.width == channel_list.content_width < 70


async def test_big_counts_are_compact_and_never_cut() -> None:
    store = MapObjectStore()
    raw = store.register_producer("busy-channel", "flood-service")
    for n in range(12_345):
        raw.publish(n)
    app = MapStoreApp(store=store, refresh_interval=0)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = app.query_one(ChannelList).table
        assert str(table.get_row("busy-channel")[3]).strip() == "12.3k"
        assert "12.3k msgs" in app.query_one(PanelHeader).text


async def test_at_80x24_header_footer_tabs_and_dialogs_fit() -> None:
    app = make_demo()
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        header = app.query_one(PanelHeader)
        assert header.text.startswith("📤 MapStore · demo") and "msgs" in header.text
        assert len(header.text) + 1 <= header.content_region.width  # the icon is 2 cells
        footer = app.query_one(PanelFooter)
        assert {"help", "quit"} <= set(footer.shown_actions)
        assert sum(key.outer_size.width for key in footer.children) <= 80
        for key, tab in zip(
            "12345", ["preview", "producers", "consumers", "history", "schema"], strict=True
        ):
            await pilot.press(key)
            assert detail_tab(app) == tab
        tabs = app.query_one("#detail", TabbedContent)
        right = tabs.get_tab("schema").region.right
        assert right <= tabs.region.right  # every tab label on screen
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        box = app.screen.query_one("VerticalScroll").region
        assert box.right <= 80 and box.bottom <= 24
        await pilot.press("escape")
        await pilot.press("i")
        await pilot.pause()
        assert isinstance(app.screen, FormScreen)
        form = app.screen.query_one("Vertical").region
        assert form.right <= 80 and form.bottom <= 24
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("v")
        await pilot.pause()
        assert isinstance(app.screen, DryRunScreen)
        dialog = app.screen.query_one("Vertical").region
        assert dialog.right <= 80 and dialog.bottom <= 24


async def test_at_80x24_the_doctor_shows_its_findings() -> None:
    """The findings list keeps rows on screen beside the highlighted finding's detail."""
    app = make_demo(antipatterns=True)
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
        table = app.query_one(DoctorTable)
        assert len(table.findings) >= 5
        rows_on_screen = table.scrollable_content_region.height - table.header_height
        assert rows_on_screen >= 2, table.scrollable_content_region
        assert table.region.bottom <= 24


async def test_at_80x24_every_findings_fix_is_on_screen() -> None:
    """The detail shows four lines at 80x24; with the explanation first, a long one pushed
    the `Fix:` line out (and the table's Fix column is cut), so the fix was nowhere."""
    app = make_demo(antipatterns=True)
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("d")
        await pilot.pause()
        table = app.query_one(DoctorTable)
        detail = app.query_one("#doctor-detail", Static)
        table.focus()
        for row, finding in enumerate(table.findings):
            table.move_cursor(row=row)
            await pilot.pause()
            if not finding["hint"]:
                continue
            shown = "\n".join(
                line.text for line in detail.render_lines(detail.content_region.reset_offset)
            )
            assert "Fix: " + finding["hint"][:20] in " ".join(shown.split()), finding["rule"]


async def test_every_pane_has_a_key_and_one_palette_entry() -> None:
    app = make_demo()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        panes = {"b": "dashboard-pane", "J": "jobs", "l": "log", "d": "doctor", "f": "flow"}
        for key, pane in panes.items():
            await pilot.press(key)
            assert app.query_one("#global", TabbedContent).active == pane
        await pilot.press("e")
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert len(titles) == len(set(titles))
        for title in ("Dashboard", "Jobs", "Preview", "Schema", "Overview", "Doctor", "Pause"):
            assert title in titles
        assert "Resume" not in titles and "Copy" not in titles  # not now
        helps = {c.title: c.help for c in app.get_system_commands(app.screen)}
        assert helps["Dashboard"] == "show the Dashboard pane · key b"  # not its widget id
        assert helps["Schema"] == "show the Schema tab · key 5"
        await pilot.press("l")
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert "Copy" in titles
        help_keys = dict(app.key_help())
        assert help_keys["1"] == "Preview" and help_keys["5"] == "Schema"
        assert help_keys["b"] == "Dashboard" and help_keys["J"] == "Jobs"
        assert help_keys["p"] == "Pause / Resume"


async def test_the_palettes_screenshot_is_saved_here_and_says_where(tmp_path, monkeypatch) -> None:
    """Textual's own saved into ~/Downloads and, where there is none, said only that it
    failed."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home-without-downloads"))
    app = make_demo()
    async with app.run_test(size=SIZE) as pilot:
        toasts = Toasts()
        monkeypatch.setattr(app, "notify", toasts)
        await pilot.pause()
        await pilot.press("ctrl+p", *"screenshot")
        await pilot.pause(0.2)
        await pilot.press("enter")
        await apoll_until(lambda: toasts.calls, what="the screenshot's toast", pause=pilot.pause)
        [svg] = tmp_path.glob("*.svg")
        assert "<svg" in svg.read_text(encoding="utf-8")
        assert toasts.titles() == ["Screenshot"]
        assert str(svg) in toasts.calls[0]["message"]
        assert toasts.calls[0].get("severity", "information") == "information"
        # where nothing can be written (sysfs refuses new files, to root too), it says why
        toasts.calls.clear()
        monkeypatch.chdir("/sys")
        app.screenshot()
        await apoll_until(lambda: toasts.calls, what="the failure", pause=pilot.pause)
        [failed] = toasts.calls
        assert failed["severity"] == "error"
        assert failed["message"].startswith("Could not save the screenshot in /sys: ")
        assert "Permission denied" in failed["message"]


async def test_c_copies_right_after_l_and_says_so() -> None:
    app = make_demo()
    toasts = Toasts()
    app.notify = toasts  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("c")  # the log is not shown: nothing happens
        assert app.clipboard == ""
        app.post_message(events.Key("l", "l"))  # l then c at once, as fast typing sends them
        app.post_message(events.Key("c", "c"))
        await pilot.pause()
        assert app.clipboard == app.store.log_producers() != ""
        assert toasts.titles() == ["Copied"]
        lines = len(app.store.log_producers().splitlines())
        assert f"Log Producers text ({lines} lines)" in toasts.calls[0]["message"]


async def test_ctrl_c_quits_as_the_docs_say_from_any_pane() -> None:
    """Ctrl+C only drew Textual's "press ctrl+q to quit" toast (and nothing over some
    screens), while the docs promised it quits like `q`. In an editor it still copies."""
    for keys in ([], ["question_mark"], ["slash"], ["o"], ["d"]):
        app = make_demo()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await pilot.press(*keys)
            await pilot.pause()
            await pilot.press("ctrl+c")
            await pilot.pause()
            assert app.return_code == 0, keys
    app = make_demo()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("i")  # the form: ctrl+c in its text area is copy
        await pilot.pause()
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app.return_code is None and isinstance(app.screen, FormScreen)


async def test_footer_says_resume_while_paused() -> None:
    app = make_demo()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        footer = app.query_one(PanelFooter)
        assert "pause" in footer.shown_actions and "resume" not in footer.shown_actions
        await pilot.press("p")
        await pilot.pause()
        assert "resume" in footer.shown_actions and "pause" not in footer.shown_actions
        await pilot.press("p")
        await pilot.pause()
        assert not app.monitor.paused


async def test_toasts_wait_while_help_is_open() -> None:
    app = make_demo()
    toasts: list[Notification] = []  # every toast the app was handed (Textual's Notify)

    def record(message: Message) -> None:
        if isinstance(message, Notify):
            toasts.append(message.notification)

    async with app.run_test(size=SIZE, notifications=True, message_hook=record) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        app.notify("a payload was rejected", title="Invalid payload rejected")
        await pilot.pause()
        assert toasts == []  # nothing drawn over the help
        await pilot.press("escape")
        await pilot.pause()
        assert [n.title for n in toasts] == ["Invalid payload rejected"]


async def test_overview_lists_every_producer_filters_and_opens_its_channel() -> None:
    app = make_demo(antipatterns=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("o")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ProducersOverview)
        table = screen.query_one(OverviewTable)
        assert table.row_count == len(app.store.producers())
        assert drawn_width(table) <= table.scrollable_content_region.width
        flagged = dict(zip(cells(table, 1), cells(table, 8), strict=True))
        assert flagged["price-ticker-a"].startswith("duplicate-source")
        await pilot.press("slash", *"price-ticker")
        await pilot.pause()
        assert len(cells(table, 1)) > 1
        await pilot.press("enter")  # several match: the filter is done, back to the table
        await pilot.pause()
        assert isinstance(app.screen, ProducersOverview) and table.has_focus
        await pilot.press("slash", "ctrl+u", *"polling")  # back to the filter, another one
        await pilot.pause()
        assert cells(table, 1) == ["polling-service"]
        await pilot.press("enter")  # one match: enter opens its channel at once
        await pilot.pause()
        assert not isinstance(app.screen, ProducersOverview)
        assert app.monitor.selected == "metric-data"
        assert detail_tab(app) == "producers"
        assert app.query_one(ChannelList).selected == "metric-data"


async def test_a_metric_channel_shows_one_card_per_producer() -> None:
    app = make_demo()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.query_one(ChannelList).select("metric-data")
        for _ in range(3):
            app.sources.tick_realtime()
        app.sources.tick_polling()
        app.sources.tick_realtime()
        await pilot.pause()
        cards = list(app.query_one(ChannelPreview).query(MetricWidget))
        assert [card.producer for card in cards] == ["realtime-service", "polling-service"]
        users, latency = cards
        assert users.value.label == "Active users (live)"
        assert latency.value.label == "API latency (ms, polled)"
        assert len(users.trend) == 5 and len(latency.trend) == 2  # never mixed
        assert all(v > 500 for v in users.trend) and all(v < 500 for v in latency.trend)
        app.sources.tick_polling()  # the polled one is now the newest: the cards stay put
        await pilot.pause()
        cards = list(app.query_one(ChannelPreview).query(MetricWidget))
        assert [card.producer for card in cards] == ["realtime-service", "polling-service"]
        assert "newest" in str(cards[1].border_title)


async def test_dashboard_cards_follow_their_own_producer() -> None:
    app = make_demo()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("b")
        app.sources.tick_polling()
        app.sources.tick_realtime()
        app.sources.tick_polling()
        await pilot.pause()
        board = {w.producer: w for w in app.query_one("#dashboard").query(MetricWidget)}
        assert board["realtime-service"].value.label == "Active users (live)"
        assert board["polling-service"].value.label == "API latency (ms, polled)"
        assert all(v > 500 for v in board["realtime-service"].trend)


async def test_history_diff_does_not_outlive_its_channel() -> None:
    app = make_demo()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.query_one(ChannelList).select("metric-data")
        app.sources.tick_realtime()
        await pilot.press("4")
        await pilot.pause()
        history = app.query_one(HistoryPanel)
        history.query_one(DataTable).focus()
        await pilot.press("enter", "down", "enter")
        await pilot.pause()
        assert str(history.query_one("#history-diff", Static).content.code).startswith("---")
        app.query_one(ChannelList).select("table-data")
        await pilot.pause()
        assert history.marked == []
        assert "Press enter on two updates" in str(history.query_one("#history-diff").content)


async def test_rate_is_not_zero_while_the_age_is_now() -> None:
    clock = FakeClock()
    store = MapObjectStore(clock=clock)
    publisher = create_widget_publisher("metric-data", "polling-service", store=store)
    app = MapStoreApp(store=store, clock=clock, refresh_interval=0)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for second in range(7):  # a publish every 3 s, sampled every second
            if second % 3 == 0:
                publisher.publish({"label": "Latency", "value": second})
            clock.advance(1.0)
            app.monitor.sample_rates()
        clock.advance(0.5)
        publisher.publish({"label": "Latency", "value": 99})  # just after a sample
        await pilot.pause()
        row = [
            str(cell).strip() for cell in app.query_one(ChannelList).table.get_row("metric-data")
        ]
        assert row[6] == "now"
        assert row[4] != "0/s"


def test_event_log_payload_starts_at_one_column() -> None:
    lines = [
        describe_event(StoreEvent("registered", "metric-data", producer, 0.0, where="x.py:1"))
        for producer in ("realtime-service", "polling-service", "a-very-long-producer-id-indeed")
    ]
    assert len({line.text.plain.index("x.py:1") for line in lines}) == 1


def test_event_log_keeps_a_long_producers_jobs_apart_in_a_fleet() -> None:
    """`job-bridge:summarize-5@jobs-1`, `-15@jobs-1` and `-25@jobs-1` all read
    `job-bridge:summar…5@jobs-1`: the producer is now cut alone, `@jobs-1` kept whole."""
    whos = []
    for narrow in (False, True):
        for job in (5, 15, 25):
            event = StoreEvent(
                "published", "paragraph-content", f"job-bridge:summarize-{job}", 0.0,
                process="jobs-1",
            )  # fmt: skip
            plain = describe_event(event, narrow=narrow).text.plain
            who = next(part for part in plain.split() if part.endswith("@jobs-1"))
            whos.append(who)
            assert who.endswith(f"{job}@jobs-1"), who
    assert len(set(whos)) == 6


async def test_markdown_box_says_on_or_off() -> None:
    app = make_demo()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("i")
        await pilot.pause()
        box = app.screen.query_one(Checkbox)
        assert str(box.label).endswith("off")
        box.value = True
        await pilot.pause()
        assert str(box.label).endswith("on")


async def test_flow_tree_puts_where_on_the_producer() -> None:
    app = make_demo()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("f")
        await pilot.pause()
        tree = app.query_one(FlowTree)
        market = next(n for n in tree.root.children if "market-data-service" in str(n.label))
        assert "market_data.py:" in str(market.label)
        assert ".py:" not in str(market.children[0].label)


async def test_long_sub_title_fits_the_header() -> None:
    app = make_demo()
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        app.sub_title = "orders-api (unix:/run/user/1000/mapstore/orders-api-12345.sock)"
        await pilot.pause()
        text = app.query_one(PanelHeader).text
        assert text.startswith("📤 MapStore · orders-api") and "…" in text and "msgs" in text


async def test_doctor_writes_the_highlighted_finding_out_in_full() -> None:
    app = make_demo(antipatterns=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
        doctor = app.query_one(DoctorTable)
        doctor.focus()
        await pilot.press("down")
        await pilot.pause()
        finding = doctor.findings[1]
        detail = str(app.query_one("#doctor-detail", Static).content)
        assert finding["rule"] in detail and finding["where"] in detail
        assert f"Fix: {finding['hint']}" in detail  # the whole fix, not cut


async def test_event_log_gets_shorter_columns_on_a_small_terminal() -> None:
    app = make_demo()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        log = app.query_one(EventLog)
        wide = [line.text.plain for line in log.lines_kept if line.event is not None]
        await pilot.resize_terminal(*SMALL)
        await pilot.pause()
        assert log.narrow
        narrow = [line.text.plain for line in log.lines_kept if line.event is not None]
        assert len(narrow) == len(wide)
        assert "src/mapstore_tui/demo/static_page.py:" in wide[0]
        assert "/static_page.py:" in narrow[0] and len(narrow[0]) <= 80  # all on screen


async def test_long_event_lines_end_in_an_ellipsis_at_the_edge_at_any_width() -> None:
    """A long payload used to run past the log's edge behind a sideways scrollbar; each line
    is now cut with `…` at the log's width, and cut again when the terminal is resized."""
    app = make_demo()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        log = app.query_one(EventLog)
        for size in (SIZE, (100, 30), SMALL, (120, 40)):
            await pilot.resize_terminal(*size)
            await pilot.pause()
            width = log.scrollable_content_region.width
            drawn = [strip.text.rstrip() for strip in log.lines]
            long = [line for line in drawn if line.endswith("…")]
            assert long, f"no line was long enough to cut at {size}"
            assert all(len(line) <= width for line in drawn), size
            assert all(len(line) >= width - 1 for line in long), size  # cut at the edge
            assert log.virtual_size.width <= width  # nothing to scroll sideways to


async def test_table_preview_never_cuts_a_number() -> None:
    from textual.app import App, ComposeResult

    from mapstore_core import TableData
    from mapstore_tui.widgets.previews import TableWidget

    value = TableData(
        title="Market data",
        headers=["Symbol", "Company", "Price", "Change"],
        rows=[
            ["GLOBX", "Global Exchange Holdings International", 386.13, -1.25],
            ["INITECH", "Initech", 12.5, 0.5],
        ],
    )

    class Narrow(App[None]):
        CSS = "TableWidget { width: 40; }"

        def compose(self) -> ComposeResult:
            yield TableWidget(value)

    app = Narrow()
    async with app.run_test(size=(60, 12)) as pilot:
        await pilot.pause()
        table = app.query_one(TableWidget).query_one(DataTable)
        rows = [[cell.plain.strip() for cell in table.get_row_at(i)] for i in range(2)]
        assert [row[0] for row in rows] == ["GLOBX", "INITECH"]
        assert [row[2] for row in rows] == ["386.13", "12.5"]  # numbers whole
        assert [row[3] for row in rows] == ["-1.25", "0.5"]
        assert rows[0][1].endswith("…")  # text that did not fit says so
        assert drawn_width(table) <= table.scrollable_content_region.width


async def test_producer_rates_are_unknown_then_counted_never_a_false_zero() -> None:
    """A rate is shown once known: a fast producer after a second; one that published once
    only when a whole window (10 s) passed without a publish; one that never published, never.
    """
    app = make_demo()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("o")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ProducersOverview)
        table = screen.query_one(OverviewTable)
        rates = dict(zip(cells(table, 1), cells(table, 5), strict=True))
        assert rates["realtime-service"] == "—"  # one reading: no rate yet
        for _ in range(4):
            app.sources.tick_realtime()
        app.clock.advance(1.0)
        app.monitor.sample_rates()
        screen.refresh_rows()
        rates = dict(zip(cells(table, 1), cells(table, 5), strict=True))
        assert rates["realtime-service"] == "4.0/s"
        # published once, before the panel looked: a second of quiet says nothing yet
        assert rates["static-page-content"] == "—"
        assert rates["user-input-form"] == "—"  # never published
        for _ in range(9):
            app.clock.advance(1.0)
            app.monitor.sample_rates()
        screen.refresh_rows()
        rates = dict(zip(cells(table, 1), cells(table, 5), strict=True))
        assert rates["static-page-content"] == "0/s"  # ten seconds without a publish: a fact
        assert rates["user-input-form"] == "—"


async def test_a_producers_first_rate_is_unknown_not_zero() -> None:
    """Read twice a moment apart (another producer published), polling-service had not
    published in between: that moment says nothing of its rate, nor does a second."""
    app = make_demo()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.query_one(ChannelList).select("metric-data")
        await pilot.press("2")
        await pilot.pause()
        table = app.query_one(ProducersTable)
        app.clock.advance(0.25)
        app.sources.tick_realtime()  # redraws the tab
        await pilot.pause()
        rates = dict(zip(cells(table, 0), cells(table, 4), strict=True))
        assert rates == {"realtime-service": "—", "polling-service": "—"}
        app.sources.tick_realtime()
        app.clock.advance(0.75)
        app.monitor.sample_rates()
        await pilot.pause()
        rates = dict(zip(cells(table, 0), cells(table, 4), strict=True))
        assert rates == {"realtime-service": "2.0/s", "polling-service": "—"}


async def _metric_data_rates(pilot: Pilot[None]) -> dict[str, str]:
    """The Rate column of metric-data's Producers tab, by producer."""
    pilot.app.query_one(ChannelList).select("metric-data")
    await pilot.press("2")
    await pilot.pause()
    table = pilot.app.query_one(ProducersTable)
    return dict(zip(cells(table, 0), cells(table, 4), strict=True))


async def test_a_slow_producers_rate_is_known_when_its_tab_opens_late() -> None:
    """polling-service publishes every 3 s; the panel has watched for 12 s when the
    Producers tab opens: its rate is there at once (about 0.3/s), not a fresh guess of 0/s."""
    app = make_demo()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for second in range(1, 13):
            if second % 3 == 0:
                app.sources.tick_polling()
            app.clock.advance(1.0)
            app.monitor.sample_rates()
        rates = await _metric_data_rates(pilot)
        assert rates["polling-service"] in ("0.3/s", "0.4/s")  # 3 or 4 in the last 10 s
        # while still unknown, it says so: a second look at a fresh panel
        fresh = make_demo()
        async with fresh.run_test(size=SIZE) as fresh_pilot:
            await fresh_pilot.pause()
            fresh.clock.advance(1.0)
            fresh.monitor.sample_rates()
            rates = await _metric_data_rates(fresh_pilot)
            assert rates["polling-service"] == "—"


async def test_overview_of_a_big_store_draws_a_page_and_says_so() -> None:
    from mapstore_tui.screens.overview import MAX_ROWS

    store = MapObjectStore()
    keep = [
        store.register_producer(f"channel-{c:03d}", f"sensor-{p}-service")
        for c in range(MAX_ROWS // 4 + 10)
        for p in range(4)
    ]
    app = MapStoreApp(store=store, refresh_interval=0)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("o")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ProducersOverview)
        assert screen.query_one(OverviewTable).row_count == MAX_ROWS
        caption = str(screen.query_one("#overview-caption").content)
        assert f"{len(keep)} producers" in caption and f"showing the first {MAX_ROWS}" in caption
        await pilot.press("slash", *"channel-007")
        await pilot.pause()
        assert cells(screen.query_one(OverviewTable), 0) == ["channel-007"] * 4


async def test_help_names_the_key_of_every_pane_there_is() -> None:
    from textual.widgets import Static as _Static

    for app, has_demo in ((make_demo(), True), (MapStoreApp(store=MapObjectStore()), False)):
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await pilot.press("question_mark")
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)
            tables = [w.content for w in app.screen.query(_Static) if hasattr(w.content, "rows")]
            _, panels_table = tables
            panel_keys = list(panels_table.columns[1].cells)
            assert panel_keys[:7] == ["↑↓", "1", "2", "3", "4", "5", "o"]
            assert ("b, J" in panel_keys) is has_demo


async def test_rows_off_screen_catch_up_when_scrolled_to() -> None:
    clock = FakeClock()  # frozen: rates stay unknown, so no column changes width
    store = MapObjectStore(clock=clock)
    producers = [
        store.register_producer(f"channel-{c:03d}", f"feed-{c}-service") for c in range(200)
    ]
    app = MapStoreApp(store=store, clock=clock, refresh_interval=0)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = app.query_one(ChannelList).table

        def msgs(name: str) -> str:
            return str(table.get_row(name)[3]).strip()

        for _ in range(3):
            producers[0].publish(1)
            producers[150].publish(1)
        await pilot.pause()
        assert msgs("channel-000") == "3"  # on screen: redrawn at once
        assert msgs("channel-150") == "0"  # off screen: not drawn yet (that is the saving)
        app.query_one(ChannelList).select("channel-150")
        await pilot.pause()
        assert msgs("channel-150") == "3"  # scrolled to: caught up


def drawn_lines(panel: Static) -> list[list[tuple[str, str]]]:
    """``panel``'s content as drawn at its width: each line's (text, style) segments."""
    console = Console(width=panel.content_region.width, color_system="truecolor")
    return [
        [(segment.text, str(segment.style or "")) for segment in line]
        for line in console.render_lines(panel.content, console.options, pad=False)
    ]


async def test_schema_descriptions_get_the_room_and_code_reads_as_code() -> None:
    """A union of literals used to take 37 columns and leave the description one word a line."""
    for size, beside in ((SIZE, True), (SMALL, False)):
        app = make_demo()
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            app.query_one(ChannelList).select("metric-data")
            await pilot.press("5")
            await pilot.pause()
            lines = drawn_lines(app.query_one("#schema-panel", Static))
            text = ["".join(t for t, _ in line).rstrip() for line in lines]
            assert not any("``" in line for line in text), text
            assert any("What is measured, e.g." in line for line in text), text
            header = next((line.split() for line in text if line.strip().startswith("Field")), [])
            assert header == (
                ["Field", "Type", "Required", "Default", "Description"] if beside else []
            )
            if beside:  # the union of literals wraps in a narrow Type column
                assert "'decrease'" not in next(line for line in text if "'increase'" in line)
            code = " ".join(t for line in lines for t, style in line if style == "bold cyan")
            assert code.split() == ["Active", "users", '"99.9%"', "change"]
