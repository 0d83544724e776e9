"""The fleet as a linked store sees it: observers, processes, and the fleet doctor rules.

Real Redis, real links; the fleet is built in this process (``helpers.Fleet``), and one test
kills a real worker process with SIGKILL.
"""

from __future__ import annotations

import json
import signal
from typing import Any

from mapstore_core import MapObjectStore
from mapstore_core.link._fleet import GONE_FOR, FleetTracker
from mapstore_core.link._registry import Announcement, Counters
from mapstore_core.plumbing import schema_diff
from mapstore_tui.screens.processes import stale_producers
from mapstore_tui.view import LocalStoreView
from tests.fleet.helpers import BEAT, NS, Fleet, OrderEvent, OrderEventV1, spawn_worker
from tests.link.helpers import RedisServer
from tests.poll import poll_until


def _rules(store: MapObjectStore) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for finding in store.diagnostics():
        found.setdefault(finding.rule, []).append(finding)
    return found


def test_an_observer_sees_the_fleet_and_leaves_no_trace(redis_server: RedisServer) -> None:
    fleet = Fleet(redis_server.url).start()
    try:
        names = {"services-1", "services-2", "web-1", "web-old-1", "jobs-1"}
        assert {p.name for p in fleet.observer_store.processes()} == names
        # the workers see each other but not the observer: it is no process of the fleet
        poll_until(
            lambda: {p.name for p in fleet.stores["web-1"].processes()} == names,
            what="web-1 to see the fleet",
        )
        assert [p.name for p in fleet.stores["web-1"].processes() if p.me] == ["web-1"]
        client = redis_server.client()
        keys = {key.decode() for key in client.keys(f"mapstore:{NS}:*")}
        assert not [key for key in keys if fleet.observer.name in key]
        assert fleet.observer.name.encode() not in client.zrange(f"mapstore:{NS}:procs", 0, -1)
        assert fleet.observer.stats()["sent"] == 0
        # it still receives every process's producers and values
        values = fleet.observer_store.values("metric-data")
        assert values["polling-service@services-2"].value == 43
        web = next(p for p in fleet.observer_store.processes() if p.name == "web-1")
        assert ("order-events", "orders-widget") in web.consumers
        assert web.schemas["order-events"].startswith("OrderEvent:")
        assert web.alive and web.heartbeat_age is not None and web.pid is not None
    finally:
        fleet.close()


def test_fleet_rules_in_every_linked_store(redis_server: RedisServer) -> None:
    fleet = Fleet(redis_server.url).start()
    try:
        for store in (fleet.observer_store, fleet.stores["services-1"]):
            poll_until(
                lambda s=store: {"schema-mismatch", "fleet-duplicate-source"} <= set(_rules(s)),
                what="the schema and duplicate-source findings",
            )
            rules = _rules(store)
            (duplicate,) = rules["fleet-duplicate-source"]
            assert duplicate.channel == "metric-data" and duplicate.producer_id == "polling-service"
            assert "2 processes (services-1, services-2)" in duplicate.message
            assert "distinct id" in duplicate.hint and "once" in duplicate.hint
            (mismatch,) = rules["schema-mismatch"]
            assert mismatch.channel == "order-events" and mismatch.severity == "error"
            assert "removed 'currency'" in mismatch.message
            assert "'order_id' type string → integer" in mismatch.message
            assert "breaks consumers" in mismatch.message and "web-old-1" in mismatch.message
    finally:
        fleet.close()


def test_a_crashed_process_goes_gone_with_stale_values(redis_server: RedisServer) -> None:
    fleet = Fleet(redis_server.url).start()
    try:
        fleet.crash("jobs-1")
        jobs = next(p for p in fleet.observer_store.processes() if p.name == "jobs-1")
        assert not jobs.alive and jobs.gone_reason == "missed 3 heartbeats"
        assert jobs.gone_since is not None
        assert jobs.stale == [
            (
                "paragraph-content",
                "summary-service",
                {"title": "Daily summary", "content": "All systems nominal.", "markdown": False},
            )
        ]
        # not kept as live: the store closed it, the panel lists it as stale
        assert "summary-service@jobs-1" not in fleet.observer_store.values("paragraph-content")
        (row,) = stale_producers(LocalStoreView(fleet.observer_store))
        assert row["stale"] and row["process"] == "jobs-1" and row["id"] == "summary-service"
        (gone,) = _rules(fleet.observer_store)["process-gone"]
        assert "'jobs-1'" in gone.message
        assert gone.message.endswith("with 1 producer open; its last value is stale")
        assert gone.where == ""  # "@jobs-1" and the message name the process already
    finally:
        fleet.close()


def test_process_gone_says_how_many_producers_and_fires_only_with_producers() -> None:
    from mapstore_core import ProcessInfo
    from mapstore_core.link._fleet import fleet_diagnostics

    def gone(name: str, producers: int) -> ProcessInfo:
        return ProcessInfo(
            name=name, host="h", pid=7, program="w.py", started=0.0, heartbeat_age=30.0,
            alive=False, gone_since=70.0, gone_reason="missed 3 heartbeats",
            producers=[("c", f"p{i}", "producer", "w.py:1") for i in range(producers)],
            consumers=[("c", "widget")], publish_rate=None, link_drops=0,
            drops_last_minute=0, schemas={}, version="", models={}, stale=[], me=False,
        )  # fmt: skip

    found = fleet_diagnostics(
        [gone("services-2", 3), gone("web-old-1", 0)], lambda _: [], {}, own=None, now=100.0
    )
    (finding,) = found  # the consumers-only worker left nothing stale: no finding
    assert (finding.rule, finding.channel, finding.producer_id) == (
        "process-gone", "(fleet)", "@services-2",
    )  # fmt: skip
    assert finding.message == (
        "process 'services-2' (h pid 7) stopped heartbeating 30 s ago (missed 3 heartbeats) "
        "with 3 producers open; their last values are stale"
    )
    assert finding.where == ""


def test_a_clean_goodbye_is_gone_but_no_finding(redis_server: RedisServer) -> None:
    fleet = Fleet(redis_server.url).start()
    try:
        fleet.links["services-2"].close()
        poll_until(
            lambda: any(
                p.name == "services-2" and not p.alive for p in fleet.observer_store.processes()
            ),
            what="services-2 to leave",
        )
        rules = _rules(fleet.observer_store)
        assert "process-gone" not in rules
        assert "fleet-duplicate-source" not in rules  # one copy left
    finally:
        fleet.close()


def test_a_killed_worker_process_is_seen_gone(redis_server: RedisServer) -> None:
    store = MapObjectStore()
    worker = spawn_worker(redis_server.url, "services-9", "services")
    try:
        with store.link(redis_server.url, namespace=NS, observer=True, heartbeat=BEAT) as link:
            assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
            poll_until(
                lambda: any(p.name == "services-9" and p.alive for p in link.processes()),
                what="the worker to be seen",
            )
            poll_until(lambda: len(store.producers()) >= 3, what="its producers")
            poll_until(
                lambda: any(p.name == "services-9" and p.producers for p in link.processes()),
                what="its announcement to list its producers",
            )
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            poll_until(
                lambda: any(p.name == "services-9" and not p.alive for p in link.processes()),
                what="the killed worker to be seen gone",
            )
            poll_until(lambda: "process-gone" in _rules(store), what="the process-gone finding")
            assert store.producers() == []
            (gone,) = [p for p in link.processes() if p.name == "services-9"]
            assert {channel for channel, _pid, _value in gone.stale} >= {"metric-data"}
    finally:
        if worker.poll() is None:
            worker.kill()
        worker.communicate()  # reaps it and closes its pipes


def test_a_link_that_drops_is_reported(redis_server: RedisServer) -> None:
    busy, observer = MapObjectStore(), MapObjectStore()
    with (
        busy.link(redis_server.url, namespace=NS, name="busy-1", heartbeat=BEAT, max_queue=1),
        observer.link(redis_server.url, namespace=NS, observer=True, heartbeat=BEAT),
    ):
        producer = busy.register_producer("ticks", "tick-service")

        def flooded() -> bool:
            for n in range(2_000):
                producer.publish({"n": n})
            return "link-dropping" in _rules(observer)

        poll_until(flooded, what="the link-dropping finding")
        (finding,) = _rules(observer)["link-dropping"]
        assert "'busy-1'" in finding.message and "max_queue" in finding.hint
        (busy_info,) = [p for p in observer.processes() if p.name == "busy-1"]
        assert busy_info.link_drops > 0 and busy_info.drops_last_minute > 0


def test_malformed_fleet_records_are_skipped(redis_server: RedisServer) -> None:
    client = redis_server.client()
    seconds, micros = client.time()
    soon = seconds * 1000 + micros // 1000 + 60_000
    client.zadd(f"mapstore:{NS}:procs", {"evil": soon, "never-dies": 10**15})
    client.set(f"mapstore:{NS}:proc:evil", b"\xff not json")
    client.set(f"mapstore:{NS}:stat:evil", json.dumps({"sent": "lots", "a": [1]}))
    store = MapObjectStore()
    with store.link(redis_server.url, namespace=NS, observer=True, heartbeat=BEAT) as link:
        assert link.wait_ready(timeout=15)
        (evil,) = store.processes()  # "never-dies" has a deadline no heartbeat gives
        assert evil.name == "evil" and evil.alive and evil.producers == [] and evil.pid is None
        assert link.status == "connected"
        store.diagnostics()  # no crash on it either


def test_gone_processes_drop_off_after_ten_minutes() -> None:
    tracker = FleetTracker(None)
    record = Announcement(name="w", heartbeat=1.0, producers=[("c", "p", "producer", "x.py:1")])
    tracker.update(1_000_000, {"w": 1_003_000}, {"w": Counters(0, 5, 0)}, {"w": record})
    assert [p.alive for p in tracker.processes()] == [True]
    tracker.update(1_004_000, {"w": 1_003_000}, {}, {})
    (gone,) = tracker.processes()
    assert not gone.alive and gone.gone_since == 1_000.0  # its last heartbeat
    tracker.update(1_000_000 + int(GONE_FOR * 1000), {}, {}, {})
    assert len(tracker.processes()) == 1  # still listed, greyed
    tracker.update(1_001_000 + int(GONE_FOR * 1000), {}, {}, {})
    assert tracker.processes() == []


def test_a_process_rate_is_unknown_until_known_never_a_false_zero() -> None:
    tracker = FleetTracker(None)
    records = {n: Announcement(name=n, heartbeat=1.0) for n in ("idle", "slow", "fast")}
    for second in range(12):
        now = 1_000_000 + second * 1000
        sent = {"idle": 0, "slow": 1 + second // 5, "fast": 10 * second}
        stats = {n: Counters(0, c, 0) for n, c in sent.items()}
        tracker.update(now, dict.fromkeys(records, now + 3000), stats, records)
        rates = {p.name: p.publish_rate for p in tracker.processes()}
        assert rates["idle"] is None  # no producer, nothing sent: no rate, not 0/s
        if second >= 1:
            assert rates["fast"] == 10.0
        if second < 10:  # one update seen in a few seconds says nothing of its pace
            assert rates["slow"] is None
    assert rates["slow"] == 0.2


def _schema(model: type) -> dict[str, Any]:
    schema: dict[str, Any] = model.model_json_schema()  # type: ignore[attr-defined]
    return schema


def test_schema_diff_says_what_breaks_consumers() -> None:
    from pydantic import BaseModel, ConfigDict

    class Open(BaseModel):
        order_id: str
        total: float

    class WithOptional(BaseModel):
        order_id: str
        total: float
        note: str | None = None

    class WithRequired(BaseModel):
        order_id: str
        total: float
        currency: str

    class Wider(BaseModel):
        order_id: str | int
        total: float

    class IntTotal(BaseModel):
        order_id: str
        total: int

    class Closed(BaseModel):
        model_config = ConfigDict(extra="forbid")
        order_id: str

    assert schema_diff(_schema(Open), _schema(WithOptional)) == (["added 'note' (optional)"], False)
    assert schema_diff(_schema(Open), _schema(WithRequired)) == (
        ["added 'currency' (required)"],
        True,
    )
    changes, breaking = schema_diff(_schema(Open), _schema(Wider))
    assert not breaking and changes == ["'order_id' type string → string | integer"]
    assert schema_diff(_schema(IntTotal), _schema(Open))[1] is False  # int fits a float
    assert schema_diff(_schema(Open), _schema(IntTotal))[1] is True
    assert schema_diff(_schema(Open), _schema(Closed)) == (["removed 'total'"], True)
    assert schema_diff(_schema(OrderEvent), _schema(OrderEventV1))[1] is True
    assert schema_diff(_schema(WithOptional), _schema(Open)) == (["removed 'note'"], False)
