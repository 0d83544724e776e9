"""The panel over a linked store keeps working (the fleet views themselves are issue #10)."""

from __future__ import annotations

from textual.widgets import Static, TabbedContent, TextArea

from mapstore_core import MapObjectStore, create_widget_publisher
from mapstore_tui import MapStoreApp
from mapstore_tui.widgets.channel_preview import ChannelPreview
from mapstore_tui.widgets.header import PanelHeader
from mapstore_tui.widgets.tables import ProducersTable
from tests.link.helpers import RedisServer
from tests.poll import apoll_until, poll_until


async def test_remote_producers_show_in_the_panel_without_breaking_it(
    redis_server: RedisServer,
) -> None:
    there, here = MapObjectStore(), MapObjectStore()
    with (
        there.link(redis_server.url, namespace="test", name="worker-1", heartbeat=0.5),
        here.link(redis_server.url, namespace="test", name="web-1", heartbeat=0.5),
    ):
        remote = create_widget_publisher("metric-data", "realtime-service", store=there)
        local = create_widget_publisher("metric-data", "realtime-service", store=here)
        local.publish({"label": "CPU here", "value": 1})
        remote.publish({"label": "CPU there", "value": 2})
        there.register_producer("metric-data", "raw-feed").publish({"label": "x", "value": "?"})
        poll_until(lambda: len(here.values("metric-data")) == 3, what="the remote values")
        app = MapStoreApp(store=here)
        async with app.run_test(size=(160, 36)) as pilot:
            await pilot.pause()
            app.monitor.query_one("ChannelList").select("metric-data")
            app.query_one("#detail", TabbedContent).active = "producers"
            table = app.query_one(ProducersTable)

            def ids() -> list[str]:
                return [record["id"] for record in table.records]

            await apoll_until(
                lambda: table.row_count == 3, what="the producers table", pause=pilot.pause
            )
            # one preview card per producer, remote ones included, each with its own value
            app.query_one("#detail", TabbedContent).active = "preview"
            preview = app.query_one(ChannelPreview)
            await apoll_until(
                lambda: preview.state.order, what="the preview cards", pause=pilot.pause
            )
            state = preview.state
            assert set(state.order) == {
                "realtime-service",
                "realtime-service@worker-1",
                "raw-feed@worker-1",
            }
            assert state.newest == "raw-feed@worker-1"
            assert all(key in state.values for key in state.order)
            assert ids().count("realtime-service") == 2 and "raw-feed" in ids()
            for key in ("1", "4", "5", "l", "o", "d"):
                await pilot.press(key)
                await pilot.pause()
            app.query_one("#global", TabbedContent).active = "log"
            area = app.query_one("LogProducersPanel").query_one(TextArea)
            await apoll_until(
                lambda: "raw-feed" in area.text, what="the Log Producers text", pause=pilot.pause
            )
            assert "2. realtime-service (producer @ worker-1)" in area.text
            assert "3. raw-feed (producer @ worker-1)" in area.text


async def test_the_panel_says_when_redis_is_unreachable_and_when_it_is_back(
    redis_server: RedisServer,
) -> None:
    """With Redis gone, an attached fleet panel kept every process "now alive" and said
    nothing but one event-log line. Now the header, a toast and the Processes caption say
    the fleet is shown as last read; the header clears when the link is back."""
    store = MapObjectStore()
    with store.link(redis_server.url, namespace="test", name="web-1", heartbeat=0.5) as link:
        poll_until(lambda: link.status == "connected", what="the link up")
        app = MapStoreApp(store=store, refresh_interval=0)
        toasts: list[str] = []
        app.notify = lambda message, **kw: toasts.append(kw.get("title", ""))  # type: ignore[method-assign]
        async with app.run_test(size=(140, 45)) as pilot:
            header = app.query_one(PanelHeader)
            assert header.notice == ""
            redis_server.kill()
            await apoll_until(
                lambda: link.status == "disconnected", what="the link down", pause=pilot.pause
            )
            app.monitor.sample_rates()  # the every-second tick
            assert "Redis unreachable" in header.notice
            assert toasts == ["Redis unreachable"]
            await pilot.press("w")
            caption = str(app.screen.query_one("#processes-caption", Static).render())
            assert "Redis unreachable: as last read" in caption
            await pilot.press("escape")
            redis_server.start()
            await apoll_until(
                lambda: link.status == "connected", what="the link back", pause=pilot.pause
            )
            app.monitor.sample_rates()
            assert header.notice == ""
            assert toasts == ["Redis unreachable"]  # once, not every second
