"""The fleet panel: pilot tests and SVG snapshots over a deterministic fleet.

The fleet is real (linked stores on a real Redis, ``helpers.Fleet``) with frozen clocks; the
snapshots pin what the OS and the wall clock decide (``helpers.PinnedView``). One process is
crashed mid-test; the fleet demo's tests kill real worker processes with SIGKILL.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from rich.text import Text
from textual.geometry import Region
from textual.message import Message
from textual.notifications import Notify
from textual.pilot import Pilot
from textual.widgets import Static, TabbedContent

from mapstore_core import MapObjectStore
from mapstore_tui import MapStoreApp
from mapstore_tui.fleet_demo import DemoFleet
from mapstore_tui.fleet_view import FleetDemoApp
from mapstore_tui.screens.overview import OverviewTable, ProducersOverview
from mapstore_tui.screens.processes import (
    ProcessesScreen,
    ProcessesTable,
    process_cells,
    schema_majority,
)
from mapstore_tui.view import LocalStoreView
from mapstore_tui.widgets.doctor import DoctorTable
from mapstore_tui.widgets.tables import ConsumersTable
from tests.fleet.helpers import Fleet, PinnedView
from tests.link.helpers import RedisServer
from tests.poll import apoll_until

SIZE = (140, 45)


@pytest.fixture
def fleet(redis_server: RedisServer) -> Iterator[Fleet]:
    running = Fleet(redis_server.url).start()
    try:
        yield running
    finally:
        running.close()


def _panel(fleet: Fleet) -> MapStoreApp:
    app = MapStoreApp(
        view=PinnedView(fleet.observer_store, fleet.clock), clock=fleet.clock, refresh_interval=0
    )
    app.sub_title = "fleet 'fleet' · unix://…/redis.sock"
    app.animation_level = "none"
    return app


def _cells(table: Any) -> list[list[str]]:
    return [
        [(c.plain if isinstance(c, Text) else str(c)).strip() for c in row]
        for row in (table.get_row_at(i) for i in range(table.row_count))
    ]


async def test_processes_view_and_a_crash_mid_test(fleet: Fleet) -> None:
    app = _panel(fleet)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("w")
        assert isinstance(app.screen, ProcessesScreen)
        table = app.screen.query_one(ProcessesTable)
        rows = _cells(table)
        assert [row[0] for row in rows] == [
            "jobs-1",
            "services-1",
            "services-2",
            "web-1",
            "web-old-1",
        ]
        assert all(row[6] == "alive" for row in rows)
        services = rows[1]
        assert services[7] == "4" and services[8] == "0"  # producers, consumers
        table.move_cursor(row=1)
        await pilot.pause()
        lines = str(app.screen.query_one("#process-detail", Static).render()).splitlines()
        assert "0 consumers" in lines  # nothing follows it: no colon
        assert any(line.startswith("4 producers: ") for line in lines)
        assert services[11] == "4 models"
        assert any("order-events=OrderEvent:" in line for line in lines)  # the fingerprint
        fleet.crash("jobs-1")
        screen = app.screen
        assert isinstance(screen, ProcessesScreen)
        screen.refresh_rows()
        await pilot.pause()
        rows = _cells(table)
        assert [row[0] for row in rows][-1] == "jobs-1"
        assert rows[-1][6].startswith("gone ")
        table.move_cursor(row=len(rows) - 1)
        await pilot.pause()
        detail = str(app.screen.query_one("#process-detail", Static).render())
        assert "stale values" in detail and "Daily summary" in detail
        await pilot.press("escape")
        assert not isinstance(app.screen, ProcessesScreen)


async def test_ctrl_c_quits_the_processes_screen(fleet: Fleet) -> None:
    """The fleet demo opens on Processes, where Ctrl+C did nothing at all."""
    app = MapStoreApp(store=fleet.observer_store, refresh_interval=0)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("w")
        assert isinstance(app.screen, ProcessesScreen)
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app.return_code == 0


async def test_processes_say_how_to_attach_from_another_terminal(fleet: Fleet) -> None:
    """The fleet demo's Redis listens on a socket in a private temporary directory: nothing
    said where, so no other terminal could attach to its namespace."""
    app = MapStoreApp(store=fleet.observer_store, refresh_interval=0)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("w")
        assert isinstance(app.screen, ProcessesScreen)
        attach = app.screen.query_one("#processes-attach", Static)
        command = f"mapstore-tui attach {fleet.url} --namespace fleet"
        assert fleet.url.startswith("unix:///")  # the whole path: it can be copied as it is
        expected = f"attach from another terminal:\n{command}"  # never cut at a space
        assert str(attach.render()) == expected
        # narrower than the command: drawn whole over lines (nothing cut), and `c` copies it
        await pilot.resize_terminal(len(command) // 2, 45)
        await apoll_until(
            lambda: attach.size.width < len(command), what="a narrow terminal", pause=pilot.pause
        )
        await pilot.pause()
        drawn = " ".join(
            strip.text.strip() for strip in attach.render_lines(Region(0, 0, *attach.outer_size))
        )
        assert "".join(drawn.split()).endswith("".join(command.split())), drawn  # all of it
        copied: list[str] = []
        app.copy_to_clipboard = copied.append  # type: ignore[method-assign]
        await pilot.press("c")
        assert copied == [command]


async def test_fleet_wide_views(fleet: Fleet) -> None:
    app = _panel(fleet)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        channels = {row["name"]: row for row in app.view.channels()}
        assert channels["order-events"]["consumer_count"] == 2  # web-1's and web-old-1's
        assert channels["metric-data"]["producer_count"] == 3
        app.monitor.query_one("ChannelList").select("order-events")
        app.monitor.selected = "order-events"
        await pilot.press("3")
        consumers = await apoll_until(
            lambda: _cells(app.query_one(ConsumersTable)), what="the consumers", pause=pilot.pause
        )
        assert sorted((row[0], row[1]) for row in consumers) == [
            ("orders-report", "web-old-1"),
            ("orders-widget", "web-1"),
        ]
        # each one's model by name, whole (its fingerprint cut the column; `w` has it)
        assert sorted(row[-1] for row in consumers) == ["OrderEvent", "OrderEventV1"]
        await pilot.press("o")
        assert isinstance(app.screen, ProducersOverview)
        overview = app.screen.query_one(OverviewTable)
        assert [str(c.label).strip() for c in overview.columns.values()][:3] == [
            "Channel",
            "Producer",
            "Process",
        ]
        rows = _cells(overview)
        assert ("polling-service", "services-2") in {(r[1], r[2]) for r in rows}
        await pilot.press("escape")
        await pilot.press("d")
        rows = await apoll_until(
            lambda: _cells(app.query_one(DoctorTable)), what="the findings", pause=pilot.pause
        )
        rules = {row[1] for row in rows}
        assert {"fleet-duplicate-source", "schema-mismatch"} <= rules


def test_snapshot_processes(fleet: Fleet, snap_compare: Any) -> None:
    """`w` over a fleet at 140x45: five processes, alive ones first; jobs-1, crashed, greyed
    at the bottom with how long ago it went; every column whole (name, host, pid, program,
    started, heartbeat age, state, producers, consumers, rate, drops, models), web-old-1's
    models in yellow: `order-events differs`; the highlighted process written out below:
    its producers, consumers and models with their fingerprints."""
    fleet.crash("jobs-1")

    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.press("w")
        await pilot.pause()

    assert snap_compare(_panel(fleet), terminal_size=SIZE, run_before=run_before)


def test_snapshot_processes_small(fleet: Fleet, snap_compare: Any) -> None:
    """`w` at 80x24: process, program, heartbeat, state (`gone 34s ago`) and models whole;
    host, pid, started and the counts left out first."""
    fleet.crash("jobs-1")

    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.press("w")
        await pilot.pause()

    assert snap_compare(_panel(fleet), terminal_size=(80, 24), run_before=run_before)


def test_snapshot_fleet_overview(fleet: Fleet, snap_compare: Any) -> None:
    """`o` over a fleet: a Process column after the producer; polling-service twice (two
    processes); jobs-1's summary-service marked stale with its process `(gone)`."""
    fleet.crash("jobs-1")

    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.press("o")
        await pilot.pause()

    assert snap_compare(_panel(fleet), terminal_size=SIZE, run_before=run_before)


def test_snapshot_fleet_overview_small(fleet: Fleet, snap_compare: Any) -> None:
    """`o` over a fleet at 80x24: services-1 and services-2 whole, producers and channels cut
    in the middle; jobs-1's `(gone)` and `stale`; where, state and the doctor's flags."""
    fleet.crash("jobs-1")

    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.press("o")
        await pilot.pause()

    assert snap_compare(_panel(fleet), terminal_size=(80, 24), run_before=run_before)


async def _open_doctor(pilot: Pilot[None]) -> None:
    await pilot.press("d")
    await pilot.pause()
    pilot.app.query_one("#global", TabbedContent).active = "doctor"
    await pilot.pause()


def test_snapshot_fleet_doctor(fleet: Fleet, snap_compare: Any) -> None:
    """`d` over a fleet: fleet-duplicate-source (polling-service in services-1 and
    services-2), schema-mismatch on order-events (breaks web-old-1), process-gone for the
    crashed jobs-1; the first finding written out in full below."""
    fleet.crash("jobs-1")
    assert snap_compare(_panel(fleet), terminal_size=SIZE, run_before=_open_doctor)


@pytest.fixture
def demo() -> Iterator[DemoFleet]:
    """The fleet demo's real processes: a private redis-server and four workers."""
    running = DemoFleet(workers=4, heartbeat=0.3, namespace="fleet-test").start()
    redis = running.redis
    try:
        yield running
    finally:
        started = [redis, *running.workers.values()]  # close() forgets them
        running.close()
    assert all(p is not None and p.poll() is not None for p in started)
    assert running.redis is None and not running.directory.exists()


async def _demo_panel(
    demo: DemoFleet, pilot: Pilot[None]
) -> tuple[ProcessesScreen, Callable[[], set[str]]]:
    """The panel's Processes view once every worker shows alive; and who shows alive."""
    screen = pilot.app.screen
    assert isinstance(screen, ProcessesScreen)

    def alive() -> set[str]:
        screen.refresh_rows()
        return {r["name"] for r in screen.records if r["alive"]}

    await apoll_until(
        lambda: alive() == {"web-1", "web-2", "services-1", "jobs-1"},
        what="every worker alive",
        pause=pilot.pause,
    )
    return screen, alive


def _toasts(app: FleetDemoApp) -> tuple[list[str], Callable[[Message], None]]:
    """What the app's toasts say, recorded from its own Notify messages."""
    said: list[str] = []

    def record(message: Message) -> None:
        if isinstance(message, Notify):
            said.append(message.notification.message)

    return said, record


async def test_k_twice_kills_one_worker_and_says_the_second_time_it_is_dead(
    demo: DemoFleet,
) -> None:
    """Issue 18: jobs-1 killed went to the bottom and the highlight stayed on row 0
    (services-1), so a second k killed a healthy worker. The highlight follows jobs-1."""
    app = FleetDemoApp(demo)
    said, record = _toasts(app)
    try:
        async with app.run_test(size=SIZE, notifications=True, message_hook=record) as pilot:
            screen, alive = await _demo_panel(demo, pilot)
            assert [r["name"] for r in screen.records] == ["jobs-1", "services-1", "web-1", "web-2"]
            screen.query_one(ProcessesTable).move_cursor(row=0)
            await pilot.press("k")
            assert demo.workers["jobs-1"].poll() is not None
            await apoll_until(
                lambda: "jobs-1" not in alive(), what="jobs-1 gone", pause=pilot.pause
            )
            assert [r["name"] for r in screen.records][-1] == "jobs-1"  # it went to the bottom
            assert screen.highlighted()["name"] == "jobs-1"  # type: ignore[index]
            await pilot.press("k")
            await pilot.pause()
            assert said == [
                "jobs-1 killed with SIGKILL: gone after 3 missed heartbeats; "
                "s starts a worker in its place",
                "jobs-1 is already dead: nothing killed",
            ]
            assert sorted(demo.alive()) == ["services-1", "web-1", "web-2"]
    finally:
        app.close_link()


async def test_s_replaces_the_killed_worker_then_adds_and_says_which(demo: DemoFleet) -> None:
    """s starts a worker in place of the one killed (its role) and says so; with none to
    replace, one more (web first), said as such."""
    app = FleetDemoApp(demo)
    said, record = _toasts(app)
    try:
        async with app.run_test(size=SIZE, notifications=True, message_hook=record) as pilot:
            screen, alive = await _demo_panel(demo, pilot)
            table = screen.query_one(ProcessesTable)
            table.move_cursor(row=[r["name"] for r in screen.records].index("services-1"))
            await pilot.press("k", "s")
            await apoll_until(lambda: "services-2" in alive(), what="services-2", pause=pilot.pause)
            await pilot.press("s")
            await apoll_until(lambda: "web-3" in alive(), what="web-3", pause=pilot.pause)
            assert said[1:] == [
                "started services-2 (services) in place of services-1 (killed)",
                "started web-3: one more web worker",
            ]
            assert demo.role_of["services-2"] == "services"
            await apoll_until(
                lambda: "services-1" not in alive(), what="services-1 gone", pause=pilot.pause
            )
            assert screen.highlighted()["name"] == "services-1"  # type: ignore[index]
            await pilot.press("k")
            await pilot.pause()
            assert (
                said[-1] == "services-1 is already dead (services-2 took its place): nothing killed"
            )
    finally:
        app.close_link()


async def test_the_panel_stands_hostile_announcements(redis_server: RedisServer) -> None:
    """What another process with access to the namespace may announce: the panel shows it."""
    client = redis_server.client()
    seconds, micros = client.time()
    soon = int(seconds) * 1000 + int(micros) // 1000 + 60_000
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(150):
        node["items"] = {}
        node = node["items"]
    records = {
        "huge-beat": {"heartbeat": 1e306, "schemas": {"prices": "A:1"}},
        "odd-schema": {
            "schemas": {"prices": "B:1"},
            "schema_json": {"prices": {"properties": {"label": {}}, "required": [["label"]]}},
            "producers": [["prices", "feed\x1b[2J", "producer", "x.py:1"]],
            "host": "box\x1b]0;owned\x07",
        },
        "deep-schema": {"schemas": {"prices": "C:1"}, "schema_json": {"prices": deep}},
    }
    for name, record in records.items():
        client.zadd("mapstore:hostile:procs", {name: soon})
        client.set(f"mapstore:hostile:proc:{name}", json.dumps({"name": name, **record}))
    client.set("mapstore:hostile:proc:long-start", b'{"started":' + b"9" * 400 + b"}")
    client.zadd("mapstore:hostile:procs", {"long-start": soon})
    store = MapObjectStore()
    with store.link(redis_server.url, namespace="hostile", observer=True, heartbeat=0.2) as link:
        assert link.wait_ready(timeout=15)
        app = MapStoreApp(view=LocalStoreView(store), refresh_interval=0)
        app.animation_level = "none"
        async with app.run_test(size=SIZE) as pilot:
            for key in ("w", "escape", "d", "escape", "o", "escape"):
                await pilot.press(key)
                await pilot.pause()
            await pilot.press("w")
            rows = await apoll_until(
                lambda: _cells(app.screen.query_one(ProcessesTable)),
                what="the processes",
                pause=pilot.pause,
            )
            assert {row[0] for row in rows} >= set(records) | {"long-start"}
            assert app.is_running


@pytest.mark.parametrize(
    "document",
    [
        {"required": [["a"]], "properties": {"a": {"type": "string"}}},
        {"title": "[/]", "properties": {"[/x]": {"type": "string", "description": "[b]"}}},
        {"properties": {"a": {"description": 5}}},
        {"properties": ["a"]},
        {"properties": {"a": "x", "b": {"anyOf": "x"}, "c": {"type": "array", "items": 3}}},
    ],
    ids=["required-lists", "markup", "number-description", "properties-list", "odd-specs"],
)
async def test_a_hostile_announced_schema_is_shown_not_obeyed(
    redis_server: RedisServer, document: dict[str, Any]
) -> None:
    client = redis_server.client()
    seconds, micros = client.time()
    soon = int(seconds) * 1000 + int(micros) // 1000 + 60_000
    record = {"name": "evil", "schemas": {"prices": "E:1"}, "schema_json": {"prices": document}}
    client.zadd("mapstore:hostile:procs", {"evil": soon})
    client.set("mapstore:hostile:proc:evil", json.dumps(record))
    sender, store = MapObjectStore(), MapObjectStore()
    sender.register_producer("prices", "price-feed").publish(1)
    with (
        sender.link(redis_server.url, namespace="hostile", name="feed-1", heartbeat=0.2),
        store.link(redis_server.url, namespace="hostile", observer=True, heartbeat=0.2) as link,
    ):
        assert link.wait_ready(timeout=15)
        app = MapStoreApp(view=LocalStoreView(store), refresh_interval=0)
        app.animation_level = "none"
        async with app.run_test(size=SIZE) as pilot:
            await apoll_until(
                lambda: "prices" in {c["name"] for c in app.view.channels()},
                what="the channel",
                pause=pilot.pause,
            )
            app.monitor.query_one("ChannelList").select("prices")
            app.monitor.selected = "prices"
            for key in ("5", "d", "escape", "w", "escape"):
                await pilot.press(key)
                await pilot.pause()
            assert app.is_running


def test_snapshot_fleet_doctor_small(fleet: Fleet, snap_compare: Any) -> None:
    """`d` over a fleet at 80x24: the findings and the selected one written out below."""
    fleet.crash("jobs-1")
    assert snap_compare(_panel(fleet), terminal_size=(80, 24), run_before=_open_doctor)


def test_the_models_column_names_the_models_a_process_disagrees_on() -> None:
    """The Processes table says which of a process's models differ from most processes'
    (the cut list of fingerprints said nothing at a glance); the detail lists them all."""

    def record(name: str, **schemas: str) -> dict[str, Any]:
        return {
            "name": name, "alive": True, "host": "h", "pid": 1, "program": "w.py",
            "started": 0.0, "heartbeat_age": 0.0, "producers": [], "consumers": [],
            "publish_rate": None, "link_drops": 0, "drops_last_minute": 0,
            "schemas": {k.replace("_", "-"): v for k, v in schemas.items()},
        }  # fmt: skip

    records = [
        record("web-1", order_events="OrderEvent:e6", metric_data="MetricData:d9"),
        record("svc-1", order_events="OrderEvent:e6", metric_data="MetricData:d9"),
        record("web-old-1", order_events="OrderEventV1:b2", metric_data="MetricData:d9"),
        record("jobs-1", paragraph="ParagraphContent:db"),
        record("empty"),
    ]
    majority = schema_majority(records)
    models = {r["name"]: process_cells(r, 0.0, majority)[-1] for r in records}
    assert str(models["web-1"]) == "2 models"
    assert str(models["web-old-1"]) == "2 models · order-events differs"
    assert "yellow" in str(models["web-old-1"].style)
    assert str(models["jobs-1"]) == "1 model"  # alone on its channel: nothing to differ from
    assert str(models["empty"]) == "—"


async def test_a_panel_on_a_namespace_nobody_linked_to_names_the_live_one(
    fleet: Fleet, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``attach … --namespace fleat`` (a typo): a toast says nothing linked there and where
    the live processes are; the fleet's own namespace says nothing."""
    from tests.tui.helpers import Toasts

    for namespace, expected in (("fleat", 1), ("fleet", 0)):
        store = MapObjectStore()
        link = store.link(redis_server.url, namespace=namespace, observer=True)
        try:
            app = MapStoreApp(store=store, refresh_interval=0)
            app.nobody_linked_grace = 0.5  # a fleet starting up has 5 s to show itself
            toasts = Toasts()
            monkeypatch.setattr(app, "notify", toasts)
            async with app.run_test(size=SIZE) as pilot:
                await pilot.pause()
                await app.workers.wait_for_complete()
                await pilot.pause()
            said = [c for c in toasts.calls if c.get("title") == "No live process"]
            assert len(said) == expected
            if expected:
                assert said[0]["severity"] == "warning" and said[0]["markup"] is False
                assert said[0]["message"] == (
                    f"namespace 'fleat' at {redis_server.url} has no live process: nothing "
                    "has linked to it; live processes are in namespace fleet (--namespace fleet)"
                )
        finally:
            link.close()


async def test_a_dry_run_counts_the_consumers_of_other_processes(fleet: Fleet) -> None:
    """order-events has no consumer in the panel's own store, but one in web-1 and one in
    web-old-1: the verdict says so, not "no consumer is subscribed"."""
    from textual.widgets import TextArea

    from mapstore_tui.screens.dry_run import DryRunScreen
    from mapstore_tui.widgets.channel_list import ChannelList

    app = _panel(fleet)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.query_one(ChannelList).select("order-events")
        await pilot.pause()
        await pilot.press("v")
        await pilot.pause()
        assert isinstance(app.screen, DryRunScreen)
        app.screen.query_one("#dry-run-payload", TextArea).load_text(
            '{"order_id": "A-2", "total": 3.5}'
        )
        result = app.screen.query_one("#dry-run-result", Static)
        await pilot.press("ctrl+s")
        text = await apoll_until(
            lambda: "checking" not in str(result.content) and str(result.content),
            what="the verdict",
            pause=pilot.pause,
        )
    assert text == (
        "[b $success]✔ valid[/] (OrderEvent); no consumer in this process; "
        "2 in other processes (web-1, web-old-1) would get it once published"
    )


def test_a_dry_run_verdict_names_other_processes_escaped() -> None:
    from mapstore_tui.screens.dry_run import describe_result

    verdict: dict[str, object] = {
        "valid": True,
        "schema": "OrderEvent",
        "receivers": ["orders-widget"],
        "remote_receivers": [
            {"id": "a", "process": "[b]web-9"},
            {"id": "b", "process": "[b]web-9"},
        ],
    }
    assert describe_result(verdict) == (
        "[b $success]✔ valid[/] (OrderEvent); would reach: orders-widget; "
        "2 in another process (\\[b]web-9) would get it once published"
    )
    verdict["remote_receivers"] = "not a list"  # an odd answer reads as none
    assert describe_result(verdict).endswith("would reach: orders-widget")


def test_a_finding_about_a_whole_process_names_no_channel() -> None:
    """process-gone read `— @services-2 on (fleet)`: no channel is involved."""
    from mapstore_tui.widgets.doctor import describe_finding

    finding = {
        "rule": "process-gone", "producer_id": "@services-2", "channel": "(fleet)",
        "where": "", "hint": "find out why it died", "message": "services-2 went",
    }  # fmt: skip
    first = describe_finding(finding).plain.splitlines()[0]
    assert first == "process-gone — @services-2"
    finding |= {"rule": "duplicate-source", "producer_id": "p", "channel": "prices"}
    assert describe_finding(finding).plain.splitlines()[0] == "duplicate-source — p on prices"
