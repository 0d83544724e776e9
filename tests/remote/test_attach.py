"""The panel attached to a store in a real second process: same screens, live, resilient."""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Static, TabbedContent, TextArea

from mapstore_core import DebugServer, MapObjectStore, StoreEvent
from mapstore_tui import MapStoreApp
from mapstore_tui.cli import main
from mapstore_tui.demo import DemoSources
from mapstore_tui.remote_view import RemoteStoreView
from mapstore_tui.screens.dry_run import DryRunScreen
from mapstore_tui.screens.overview import ProducersOverview
from mapstore_tui.widgets.channel_list import ChannelList
from mapstore_tui.widgets.channel_preview import ChannelPreview
from mapstore_tui.widgets.events import EventLog
from mapstore_tui.widgets.footer import PanelFooter
from mapstore_tui.widgets.header import PanelHeader
from mapstore_tui.widgets.previews import TableWidget
from mapstore_tui.widgets.tables import ProducersTable
from tests.conftest import FakeClock
from tests.poll import apoll_until, poll_until

from .helpers import DemoProcess


@pytest.fixture
def demo(socket_path: Path) -> Iterator[DemoProcess]:
    process = DemoProcess(socket_path)
    yield process
    process.stop()


def local_log_producers() -> str:
    """What the demo's store says of itself (the same sources, in this process)."""
    sources = DemoSources(MapObjectStore(), seed=1)
    sources.start()
    try:
        return sources.store.log_producers()
    finally:
        sources.stop()


async def test_panel_shows_the_other_processs_store(demo: DemoProcess) -> None:
    view = RemoteStoreView(demo.address).connect()
    app = MapStoreApp(view=view, refresh_interval=0)
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            channel_list = app.query_one(ChannelList)
            await apoll_until(
                lambda: len(channel_list.rows) == 3, what="the remote channels", pause=pilot.pause
            )
            await pilot.press("l")
            await apoll_until(
                lambda: app.query_one("#log-producers-text", TextArea).text,
                what="the Log Producers text",
                pause=pilot.pause,
            )
            text = app.query_one("#log-producers-text", TextArea).text
            assert text == view.log_producers() == local_log_producers()
            channel_list.select("table-data")
            app.query_one("#detail", TabbedContent).active = "producers"
            await apoll_until(
                lambda: app.query_one(ProducersTable).row_count == 1,
                what="producers",
                pause=pilot.pause,
            )
            [record] = app.query_one(ProducersTable).records
            assert record["id"] == "market-data-service"
            assert record["registered_at"].startswith("src/mapstore_tui/demo/market_data.py:")
            app.query_one("#detail", TabbedContent).active = "preview"
            preview = app.query_one(ChannelPreview).query_one(TableWidget)
            await apoll_until(
                lambda: preview.value is not None, what="the table preview", pause=pilot.pause
            )
            assert preview.value.title == "Market data (fetch #1)"
            metric_count = lambda: channel_list.rows[2].publishes  # noqa: E731
            before = metric_count()
            await apoll_until(
                lambda: metric_count() > before, what="live publishes", pause=pilot.pause
            )
    finally:
        view.close()


async def test_panel_says_disconnected_and_reconnects() -> None:
    first = DemoProcess(None)  # the endpoint named "demo"
    view = RemoteStoreView("demo", retry=0.1).connect()
    app = MapStoreApp(view=view, refresh_interval=0)
    second = None
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            header = app.query_one(PanelHeader)
            channel_list = app.query_one(ChannelList)
            await apoll_until(
                lambda: len(channel_list.rows) == 3, what="the remote channels", pause=pilot.pause
            )
            first.stop()
            await apoll_until(
                lambda: "disconnected" in header.notice, what="the disconnection", pause=pilot.pause
            )
            assert len(channel_list.rows) == 3  # the last state stays visible
            second = DemoProcess(None)  # the app restarts, with a new token
            assert second.address == first.address  # same name, same address
            await apoll_until(
                lambda: header.notice == "", what="the reconnection", pause=pilot.pause
            )
            assert view.log_producers() == local_log_producers()
    finally:
        view.close()
        first.stop()
        if second is not None:
            second.stop()


async def test_rates_after_a_reconnection_are_unknown_never_a_false_zero(
    socket_path: Path,
) -> None:
    """The app restarts: its counts start again. Measured against the old run's counts, its
    rates read 0/s beside an age of "now" for a whole window; they are "—" until known."""
    clock = FakeClock()
    first_store = MapObjectStore(clock=clock)
    ticks = first_store.register_producer("ticks", "tick-source")
    for n in range(50):
        ticks.publish(n)
    first = DebugServer(first_store, path=socket_path, token="the-token").start()
    view = RemoteStoreView(first.address, token="the-token", retry=0.05).connect()
    app = MapStoreApp(view=view, clock=clock, refresh_interval=0)
    second = None

    def ticks_row() -> dict[str, str]:
        rows = app.query_one(ChannelList).rows
        return next((row.cells() for row in rows if row.name == "ticks"), {})

    try:
        async with app.run_test(size=(120, 36)) as pilot:
            header = app.query_one(PanelHeader)
            await apoll_until(lambda: ticks_row(), what="the channel", pause=pilot.pause)
            clock.advance(1.0)
            app.monitor.sample_rates()
            assert ticks_row()["rate"] == "—"  # a second without one says nothing yet
            for _ in range(9):
                clock.advance(1.0)
                app.monitor.sample_rates()
            assert ticks_row()["rate"] == "0/s"  # watched for a whole window: none came
            first.close()
            await apoll_until(
                lambda: "disconnected" in header.notice, what="the disconnection", pause=pilot.pause
            )
            second_store = MapObjectStore(clock=clock)  # the app's next run
            again = second_store.register_producer("ticks", "tick-source")
            for n in range(3):
                again.publish(n)
            second = DebugServer(second_store, path=socket_path, token="the-token").start()
            await apoll_until(
                lambda: header.notice == "" and ticks_row()["publishes"] == "3",
                what="the reconnection",
                pause=pilot.pause,
            )
            assert (ticks_row()["rate"], ticks_row()["age"]) == ("—", "now")
            assert header.text.endswith("3 msgs · —/s")
            clock.advance(1.0)
            for n in range(4):
                again.publish(n)
            await apoll_until(
                lambda: ticks_row()["publishes"] == "7", what="the new publishes", pause=pilot.pause
            )
            app.monitor.sample_rates()
            assert ticks_row()["rate"] == "4.0/s"
    finally:
        view.close()
        first.close()
        if second is not None:
            second.close()


def test_headless_commands_attach(demo: DemoProcess, capsys) -> None:
    assert main(["log-producers", "--attach", demo.address]) == 0
    assert capsys.readouterr().out == local_log_producers() + "\n"
    assert main(["snapshot", "--attach", demo.address]) == 0
    snapshot = json.loads(capsys.readouterr().out)
    assert {p["id"] for p in snapshot["producers"]} >= {"market-data-service", "realtime-service"}


def test_attach_errors_are_clear(tmp_path: Path, capsys) -> None:
    assert main(["log-producers", "--attach", f"unix:{tmp_path}/none.sock"]) == 2
    assert "cannot reach" in capsys.readouterr().err


def test_wrong_token_is_refused(demo: DemoProcess, capsys) -> None:
    assert main(["log-producers", "--attach", demo.address, "--token", "guess"]) == 2
    err = capsys.readouterr().err
    assert "(auth): wrong or missing token" in err and err.count("\n") == 1


async def test_dry_run_needs_the_apps_consent(demo: DemoProcess) -> None:
    view = RemoteStoreView(demo.address).connect()
    app = MapStoreApp(view=view, refresh_interval=0)
    try:
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            channel_list = app.query_one(ChannelList)
            await apoll_until(
                lambda: len(channel_list.rows) == 3, what="the remote channels", pause=pilot.pause
            )
            footer = app.query_one(PanelFooter)
            assert "pause" in footer.shown_actions and "dry_run" not in footer.shown_actions
            assert ("v", "Dry run") in app.key_help()  # v is still a key: it says why not
            screens = len(app.screen_stack)
            await pilot.press("v")
            toasts = lambda: [str(t.render()) for t in app.screen.query("Toast")]  # noqa: E731
            shown = await apoll_until(toasts, what="the refusal on screen", pause=pilot.pause)
            assert any("did not allow dry runs" in text for text in shown)
            assert len(app.screen_stack) == screens  # no dry-run dialog opened
    finally:
        view.close()


def test_dry_run_over_the_wire_when_allowed(socket_path: Path) -> None:
    process = DemoProcess(socket_path, "--allow-dry-run")
    view = RemoteStoreView(process.address).connect()
    try:
        assert view.can_dry_run
        verdict = view.dry_run("table-data", {"title": "t", "headers": ["a"], "rows": [[1, 2]]})
        assert verdict["valid"] is False and list(verdict["problems"]) == ["rows"]
    finally:
        view.close()
        process.stop()


async def test_a_stopped_app_never_freezes_the_panel(socket_path: Path) -> None:
    """``kill -STOP`` the app: every key still answers (all reads are of the local mirror),
    the header says the app does not respond, and a dry run (the one question asked of the
    app) says it got no answer; ``kill -CONT``: the panel catches up and the notice goes."""
    demo = DemoProcess(socket_path, "--allow-dry-run")
    request_timeout = 1.0  # what a dry run waits for the stopped app
    try:
        view = RemoteStoreView(demo.address, silence=1.5, timeout=request_timeout).connect()
    except BaseException:
        demo.stop()
        raise
    app = MapStoreApp(view=view, refresh_interval=0)
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            header = app.query_one(PanelHeader)
            channel_list = app.query_one(ChannelList)
            await apoll_until(
                lambda: len(channel_list.rows) == 3, what="the remote channels", pause=pilot.pause
            )
            bottom = app.query_one("#global", TabbedContent)
            detail = app.query_one("#detail", TabbedContent)
            os.kill(demo.process.pid, signal.SIGSTOP)
            try:
                await apoll_until(
                    lambda: "not responding" in header.notice,
                    what="the notice of a stopped app",
                    pause=pilot.pause,
                )
                assert view.status == "unresponsive" and view.client.connected
                stopped_at = view.mirror.channels()[2].publish_count
                took = []
                for key, pane, tabs in (
                    ("l", "log", bottom),
                    ("d", "doctor", bottom),
                    ("2", "producers", detail),
                    ("f", "flow", bottom),
                    ("4", "history", detail),
                    ("e", "events", bottom),
                    ("1", "preview", detail),
                ):
                    started = time.perf_counter()
                    await pilot.press(key)
                    took.append(time.perf_counter() - started)
                    assert tabs.active == pane, key
                await pilot.press("o")
                assert isinstance(app.screen, ProducersOverview)
                await pilot.press("escape")
                assert "market-data-service" in app.query_one("#log-producers-text", TextArea).text
                # A read that waited for the app would take the client's timeout a key.
                assert max(took) < request_timeout, took
                await pilot.press("v")  # the dry run asks the stopped app, from a worker
                assert isinstance(app.screen, DryRunScreen)
                await pilot.press("ctrl+s")
                result = app.screen.query_one("#dry-run-result", Static)
                assert "checking" in str(result.content)
                verdict = await apoll_until(
                    lambda: "no verdict" in str(result.content) and str(result.content),
                    what="the dry run's missing answer",
                    pause=pilot.pause,
                )
                assert "no answer from" in verdict
                await pilot.press("escape")
                assert not isinstance(app.screen, DryRunScreen)
                assert "not responding" in header.notice
            finally:
                os.kill(demo.process.pid, signal.SIGCONT)
            await apoll_until(lambda: header.notice == "", what="the app heard", pause=pilot.pause)
            await apoll_until(
                lambda: channel_list.rows[2].publishes > stopped_at,
                what="the panel catching up",
                pause=pilot.pause,
            )
            assert view.status == "connected"
    finally:
        view.close()
        demo.stop()


async def test_the_panel_shows_the_endpoints_refusal(socket_path: Path) -> None:
    store = MapObjectStore()
    first = DebugServer(store, path=socket_path, token="first-token").start()
    view = RemoteStoreView(first.address, token="first-token", retry=0.05).connect()
    app = MapStoreApp(view=view, refresh_interval=0)
    second = None
    try:
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            header = app.query_one(PanelHeader)
            await pilot.pause()
            first.close()
            second = DebugServer(store, path=socket_path, token="another-token").start()
            await apoll_until(
                lambda: "refused the panel (auth)" in header.notice,
                what="the refusal in the header",
                pause=pilot.pause,
            )
            toasts = lambda: [str(t.render()) for t in app.screen.query("Toast")]  # noqa: E731
            shown = await apoll_until(
                lambda: [t for t in toasts() if "wrong or missing token" in t],
                what="the endpoint's words in a toast",
                pause=pilot.pause,
            )
            assert shown and view.last_error.endswith("(auth): wrong or missing token")
            assert len(app.query_one(ChannelList).rows) == 3  # the last state stays
    finally:
        view.close()
        first.close()
        if second is not None:
            second.close()


def test_a_raising_view_listener_is_logged_and_the_others_are_told(
    socket_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = MapObjectStore()
    server = DebugServer(store, path=socket_path).start()
    caplog.set_level(logging.ERROR, logger="mapstore_core")  # its listeners are the store's kind
    view = RemoteStoreView(server.address).connect()
    told: list[str] = []
    try:

        def broken(event: StoreEvent) -> None:
            raise RuntimeError("a broken panel listener")

        view.subscribe(broken)
        view.subscribe(lambda event: told.append(event.kind))
        view.on_status(lambda status: 1 / 0)
        store.register_producer("a", "first-service")
        poll_until(lambda: "registered" in told, what="the other listener told")
        assert view.client.connected and view.mirror.producers("a")
        logged = [r.getMessage() for r in caplog.records if r.name == "mapstore_core"]
        assert any("event listener" in line and "broken" in line for line in logged)
    finally:
        view.close()
        server.close()
    assert any("view status listener" in r.getMessage() for r in caplog.records)  # at close


async def test_coalesced_publishes_are_counted_in_the_event_log(socket_path: Path) -> None:
    """The app sends no publish one by one; the log shows the latest and counts the rest."""
    store = MapObjectStore()
    producer = store.register_producer("ticks", "tick-source")
    server = DebugServer(store, path=socket_path).start()
    view = RemoteStoreView(server.address).connect()
    app = MapStoreApp(view=view, refresh_interval=0)
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.pause()
            log = app.query_one(EventLog)

            def accounted() -> int:
                shown = unshown = 0
                for line in log.lines_kept:
                    event = line.event
                    if event is not None and event.kind == "published":
                        shown += 1
                    elif line.text.plain.endswith("more publishes (the latest are shown)"):
                        unshown += int(line.text.plain.split()[1].replace(",", ""))
                return shown + unshown

            for n in range(1_000):
                producer.publish(n)
            total = await apoll_until(
                lambda: accounted() >= 1_000, what="every publish accounted", pause=pilot.pause
            )
            assert accounted() == 1_000, total
            shown = [line.event for line in log.lines_kept if line.event is not None]
            assert shown[-1].update is not None and shown[-1].update.value == 999
    finally:
        view.close()
        server.close()


def test_an_attached_panel_of_a_linked_app_sees_its_fleet(socket_path: Path) -> None:
    """The fleet crosses as events: the mirror has the processes and the fleet's findings."""
    from mapstore_core import Diagnostic, ProcessInfo
    from mapstore_core._port import StorePort

    store = MapObjectStore()
    port = StorePort(store, store)  # what a link pushes at each heartbeat, without Redis
    web = ProcessInfo(
        "web-2", "host", 7, "app.py", 1.0, 0.2, True, None, "", [], [], 3.0, 0, 0, {}, "0.1.0"
    )
    gone = Diagnostic("process-gone", "error", "(fleet)", "@jobs-1", "gone", "", "")
    with DebugServer(store, path=socket_path) as server:
        view = RemoteStoreView(server.address).connect()
        try:
            assert not view.linked and view.processes() == []
            port.fleet([web], [gone])
            poll_until(lambda: view.processes(), what="the fleet in the mirror")
            assert view.linked and view.processes() == [web.to_dict()]
            assert gone.to_dict() in view.diagnostics()
        finally:
            view.close()


async def test_an_attached_panel_offers_no_flight_recorder(
    demo: DemoProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its publishes come coalesced: a dump would hold almost none (record the app instead)."""
    monkeypatch.chdir(tmp_path)
    view = RemoteStoreView(demo.address).connect()
    app = MapStoreApp(view=view, refresh_interval=0)
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            channel_list = app.query_one(ChannelList)
            await apoll_until(
                lambda: len(channel_list.rows) == 3, what="the remote channels", pause=pilot.pause
            )
            assert app.flight is None and not app.offers("dump_flight")
            await pilot.press("R")
            await pilot.pause()
            assert list(tmp_path.glob("mapstore-flight-*")) == []
    finally:
        view.close()
