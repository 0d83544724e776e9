"""The fleet under faults and hostile processes: nothing lost but what is counted.

Each test names the fault it forces against a real, private redis-server: a process dying
without producers, Redis frozen or full, odd names, and what a process with access to the
namespace can write there (garbage, spoofed entries, fake processes, keys of the wrong
type). Whatever arrives, no traceback, no retry of the same batch for ever, no permanent
state: what is refused is counted and told in a ``link_dropped`` event.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from pydantic import BaseModel

from mapstore_core import MapObjectStore, StoreEvent, StoreLink
from mapstore_core.link import _following
from mapstore_core.link._presence import fetch_records
from mapstore_core.link._registry import MAX_PROCESSES, MAX_RECORD_BYTES
from mapstore_core.link._wire import Keys
from mapstore_tui import cli
from tests.fleet.helpers import crash
from tests.link.helpers import RedisServer
from tests.poll import poll_until

NS = "hostile"
BEAT = 0.2
KEYS = Keys(NS)


@pytest.fixture
def no_tracebacks(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail the test if the link logged an error or a traceback."""
    caplog.set_level(logging.WARNING, logger="mapstore_core.link")
    yield
    bad = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not bad, [r.getMessage() for r in bad]


def link(
    server: RedisServer, links: list[StoreLink], name: str, store: MapObjectStore | None = None
) -> tuple[MapObjectStore, StoreLink]:
    store = store or MapObjectStore()
    made = store.link(server.url, namespace=NS, name=name, heartbeat=BEAT)
    links.append(made)
    return store, made


def news(store: MapObjectStore) -> list[StoreEvent]:
    seen: list[StoreEvent] = []
    store.subscribe_events(lambda e: seen.append(e) if e.kind.startswith("link_") else None)
    return seen


def told(seen: list[StoreEvent], text: str) -> bool:
    return any(text in (e.message or "") for e in seen)


def redis_now_ms(client: Any) -> int:
    seconds, micros = client.time()
    return int(seconds) * 1000 + int(micros) // 1000


def value_of(store: MapObjectStore, channel: str, key: str) -> Any:
    return store.values(channel).get(key)


class Pair(NamedTuple):
    """web-1 receiving what feed-1's ``price-feed`` publishes (1 has arrived)."""

    receiver: MapObjectStore
    receiving: StoreLink
    sender: MapObjectStore
    sending: StoreLink
    feed: Any


def pair(server: RedisServer, links: list[StoreLink]) -> Pair:
    receiver, receiving = link(server, links, "web-1")
    sender, sending = link(server, links, "feed-1")
    feed = sender.register_producer("prices", "price-feed")
    feed.publish(1)
    poll_until(lambda: value_of(receiver, "prices", "price-feed@feed-1") == 1, what="arrives")
    return Pair(receiver, receiving, sender, sending, feed)


def entry(process: str, run: str, n: int, value: bytes, *, channel: str = "prices") -> bytes:
    """An entry as another (maybe hostile) process writes it, byte for byte."""
    header = json.dumps(
        {"v": 2, "p": process, "i": run, "c": channel, "P": {"feed": ["producer", "x.py:1", False]}}
    ).encode()
    line = (
        b'[%d,{"kind":"published","channel":"%s","producer_id":"feed","timestamp":1.5,'
        b'"update":{"value":%s}}]' % (n, channel.encode(), value)
    )
    return header + b"\n" + line


def announce(client: Any, name: str, run: str, **fields: Any) -> None:
    """A process's registry member and announcement, written by hand."""
    client.zadd(KEYS.procs, {name: redis_now_ms(client) + 60_000})
    client.set(KEYS.proc(name), json.dumps({"name": name, "incarnation": run, **fields}))


# -- faults without an attacker --------------------------------------------------------------


def test_a_consumer_only_process_that_dies_is_reaped_with_its_keys(
    redis_server: RedisServer, links: list[StoreLink], no_tracebacks: None
) -> None:
    store, _ = link(redis_server, links, "web-1")
    other = MapObjectStore()
    other.register_consumer("prices", "price-widget", lambda update: None)
    _, dying = link(redis_server, links, "consumer-1", other)
    poll_until(lambda: {p.name for p in store.processes()} >= {"consumer-1"}, what="both seen")
    crash(dying)
    client = redis_server.client()
    poll_until(
        lambda: (
            client.zscore(KEYS.procs, "consumer-1") is None
            and not client.exists(KEYS.proc("consumer-1"), KEYS.stat("consumer-1"))
        ),
        what="the dead consumer-only process reaped from Redis",
    )
    (gone,) = [p for p in store.processes() if p.name == "consumer-1"]
    assert not gone.alive
    late = MapObjectStore()  # the fleet still updates: a newcomer is seen
    link(redis_server, links, "web-2", late)
    poll_until(lambda: any(p.name == "web-2" for p in store.processes()), what="web-2 seen")


def test_a_dead_producer_process_leaves_no_latest_fields_behind(
    redis_server: RedisServer, links: list[StoreLink]
) -> None:
    link(redis_server, links, "web-1")
    other = MapObjectStore()
    producer = other.register_producer("prices", "price-feed")
    _, dying = link(redis_server, links, "feed-1", other)
    producer.publish(1)
    client = redis_server.client()
    field = Keys.field("feed-1", "price-feed")
    poll_until(lambda: client.hexists(KEYS.latest("prices"), field), what="the latest field")
    crash(dying)
    poll_until(lambda: not client.hexists(KEYS.latest("prices"), field), what="field deleted")
    assert client.zscore(KEYS.procs, "feed-1") is None


def test_a_file_name_that_is_not_utf8_does_not_stop_the_link(
    redis_server: RedisServer, links: list[StoreLink], no_tracebacks: None
) -> None:
    sender = MapObjectStore()
    scope: dict[str, Any] = {"store": sender}
    source = "feed = store.register_producer('prices', 'price-feed')"
    exec(compile(source, "/srv/app/caf\udce9.py", "exec"), scope)  # as surrogateescape decodes
    odd_channel = sender.register_producer("caf\udce9", "menu-feed")
    seen = news(sender)  # before the link: it may tell at its first flush
    receiver, _ = link(redis_server, links, "web-1")
    _, sending = link(redis_server, links, "feed-1", sender)
    odd_channel.publish(1)
    scope["feed"].publish(42)
    poll_until(lambda: value_of(receiver, "prices", "price-feed@feed-1") == 42, what="arrives")
    (info,) = [p for p in receiver.producers() if p.id == "price-feed"]
    assert info.registered_at.startswith("/srv/app/caf\ufffd.py")
    poll_until(lambda: told(seen, "cannot cross the link"), what="the odd channel told")
    scope["feed"].publish(43)  # and the link goes on
    poll_until(lambda: value_of(receiver, "prices", "price-feed@feed-1") == 43, what="goes on")
    assert sending.stats()["dropped"] >= 1


def test_a_frozen_redis_kills_nobody(
    redis_server: RedisServer, links: list[StoreLink], no_tracebacks: None
) -> None:
    receiver, _, _, _, feed = pair(redis_server, links)
    closed: list[StoreEvent] = []
    receiver.subscribe_events(lambda e: closed.append(e) if e.kind == "closed" else None)
    assert redis_server.process is not None
    os.kill(redis_server.process.pid, signal.SIGSTOP)  # 8 heartbeats, under the socket timeout
    try:
        time.sleep(8 * BEAT)
    finally:
        os.kill(redis_server.process.pid, signal.SIGCONT)
    feed.publish(2)
    poll_until(lambda: value_of(receiver, "prices", "price-feed@feed-1") == 2, what="goes on")
    time.sleep(6 * BEAT)  # a grace period after the thaw: still nobody reaped
    assert closed == []
    assert all(p.alive for p in receiver.processes())
    assert redis_server.client().exists(KEYS.proc("feed-1"))


def test_a_write_redis_refuses_is_not_sent_and_the_newest_goes_later(
    redis_server: RedisServer, links: list[StoreLink], no_tracebacks: None
) -> None:
    receiver, _, sender, sending, feed = pair(redis_server, links)
    seen = news(sender)
    sent = sending.stats()["sent"]
    client = redis_server.client()
    client.config_set("maxmemory-policy", "noeviction")
    client.config_set("maxmemory", 1)  # full: every write is refused (OOM)
    try:
        feed.publish(2)  # then the producer goes quiet
        poll_until(lambda: told(seen, "Redis refused"), what="the refusal told")
        assert sending.stats()["sent"] == sent  # refused is not sent
    finally:
        client.config_set("maxmemory", 0)
    poll_until(lambda: value_of(receiver, "prices", "price-feed@feed-1") == 2, what="newest")
    assert sending.stats()["sent"] > sent


def test_a_name_redis_refuses_for_a_client_still_links(
    redis_server: RedisServer, links: list[StoreLink]
) -> None:
    _, linked = link(redis_server, links, "wörker-1")
    poll_until(lambda: linked.status == "connected", what="connected")
    names = [c["name"] for c in redis_server.client().client_list()]
    assert "mapstore:w\\xf6rker-1" in names


def test_two_processes_under_one_name_are_told_and_nobody_churns(
    redis_server: RedisServer, links: list[StoreLink]
) -> None:
    receiver, _ = link(redis_server, links, "web-1")
    first = MapObjectStore()
    first.register_producer("prices", "price-feed").publish(1)
    _, one = link(redis_server, links, "feed", first)
    poll_until(lambda: value_of(receiver, "prices", "price-feed@feed") == 1, what="first")
    second = MapObjectStore()
    told_first, told_second = news(first), news(second)
    twin = second.register_producer("prices", "price-feed")
    _, two = link(redis_server, links, "feed", second)
    churn: list[StoreEvent] = []
    receiver.subscribe_events(lambda e: churn.append(e) if e.kind == "closed" else None)
    for n in range(2, 30):
        twin.publish(n)
    poll_until(
        lambda: (
            told(told_first, "under this process's name")
            or told(told_second, "under this process's name")
        ),
        what="the shared name told",
    )
    assert len(churn) <= 1  # at most the one restart, never back and forth
    assert one.status == two.status == "connected"


def test_a_fresh_link_reports_nothing_skipped(
    redis_server: RedisServer, links: list[StoreLink]
) -> None:
    store = MapObjectStore()
    feed = store.register_producer("prices", "price-feed")
    feed.publish(1)  # before the link: its state goes when it connects
    seen = news(store)
    _, linked = link(redis_server, links, "feed-1", store)
    feed.publish(2)
    feed.publish(3)
    poll_until(lambda: linked.stats()["sent"] >= 2, what="sent")
    assert linked.stats()["coalesced"] == 0
    assert not told(seen, "skipped")


# -- what a process with access to the namespace can write -------------------------------------


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "within bounds"),
        (b"1e400", "out of a float's range"),
        (b'"\\ud800"', "within bounds"),
    ],
    ids=["nested-100000-deep", "float-overflow", "lone-surrogate"],
)
def test_poison_values_are_counted_and_the_rest_goes_on(
    redis_server: RedisServer, links: list[StoreLink], no_tracebacks: None, value: bytes, why: str
) -> None:
    receiver, receiving, sender, _, _ = pair(redis_server, links)
    seen = news(receiver)
    client = redis_server.client()
    run = json.loads(client.get(KEYS.proc("feed-1")))["incarnation"]
    client.xadd(KEYS.stream("prices"), {"m": entry("feed-1", run, 10**6, value)})
    poll_until(lambda: told(seen, why), what="the poison told")
    assert receiving.stats()["dropped"] >= 1
    sender.register_producer("prices", "price-feed-2").publish(2)
    poll_until(lambda: value_of(receiver, "prices", "price-feed-2@feed-1") == 2, what="goes on")


def test_a_poison_latest_field_does_not_stop_a_joiner(
    redis_server: RedisServer, links: list[StoreLink], no_tracebacks: None
) -> None:
    sender, _ = link(redis_server, links, "feed-1")
    sender.register_producer("prices", "price-feed").publish(1)
    client = redis_server.client()
    poll_until(lambda: client.hlen(KEYS.latest("prices")) == 1, what="the latest field")
    run = json.loads(client.get(KEYS.proc("feed-1")))["incarnation"]
    deep = b"[" * 100_000 + b"]" * 100_000
    client.hset(KEYS.latest("prices"), "feed-1\nother", entry("feed-1", run, 1, deep))
    joiner, _ = link(redis_server, links, "web-1")
    poll_until(lambda: value_of(joiner, "prices", "price-feed@feed-1") == 1, what="joined")


def test_an_observer_loses_only_the_poison_entry(
    redis_server: RedisServer, links: list[StoreLink], no_tracebacks: None
) -> None:
    panel = MapObjectStore()
    watching = panel.link(redis_server.url, namespace=NS, heartbeat=BEAT, observer=True)
    links.append(watching)
    sender, _ = link(redis_server, links, "feed-1")
    feed = sender.register_producer("prices", "price-feed")
    feed.publish(1)
    poll_until(lambda: value_of(panel, "prices", "price-feed@feed-1") == 1, what="arrives")
    client = redis_server.client()
    run = json.loads(client.get(KEYS.proc("feed-1")))["incarnation"]
    client.xadd(KEYS.stream("prices"), {"m": entry("feed-1", run, 10**6, b"9" * 400 + b"e999")})
    feed.publish(2)
    poll_until(lambda: value_of(panel, "prices", "price-feed@feed-1") == 2, what="the next one")
    assert watching.stats()["dropped"] >= 1


def test_garbage_in_the_registry_is_refused_and_reaping_goes_on(
    redis_server: RedisServer, links: list[StoreLink], no_tracebacks: None
) -> None:
    client = redis_server.client()
    soon = redis_now_ms(client) + 60_000
    client.zadd(KEYS.procs, {b"\xff\xfe": soon, "inf-1": float("inf"), "bell\x07": soon})
    client.zadd(KEYS.procs, {"no-counters": soon})  # a member with no counters key
    store, _ = link(redis_server, links, "web-1")
    other = MapObjectStore()
    other.register_producer("prices", "price-feed").publish(1)
    _, dying = link(redis_server, links, "feed-1", other)
    poll_until(lambda: value_of(store, "prices", "price-feed@feed-1") == 1, what="arrives")
    poll_until(lambda: client.zscore(KEYS.procs, "inf-1") is None, what="garbage removed")
    names = {p.name for p in store.processes()}
    assert "bell\x07" not in names and "no-counters" in names
    crash(dying)
    poll_until(lambda: "price-feed@feed-1" not in store.values("prices"), what="still reaps")


def test_hostile_announcements_cannot_break_reads_or_the_doctor(
    redis_server: RedisServer, links: list[StoreLink], no_tracebacks: None
) -> None:
    client = redis_server.client()
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(150):  # deeper than any model, within what JSON parsers take
        node["items"] = {}
        node = node["items"]
    announce(client, "huge-beat", "r1", heartbeat=1e306, schemas={"prices": "A:1"})
    client.set(
        KEYS.proc("long-start"),
        b'{"name":"long-start","incarnation":"r2","started":' + b"9" * 400 + b"}",
    )
    client.zadd(KEYS.procs, {"long-start": redis_now_ms(client) + 60_000})
    announce(
        client,
        "odd-schema",
        "r3",
        schemas={"prices": "B:1"},
        schema_json={"prices": {"properties": {"label": {}}, "required": [["label"]]}},
        producers=[["prices", "price-feed", "producer", "x.py:1"]],
    )
    announce(client, "deep-schema", "r4", schemas={"prices": "C:1"}, schema_json={"prices": deep})
    store, linked = link(redis_server, links, "web-1")
    assert linked.wait_ready(timeout=15)
    poll_until(lambda: len(store.processes()) >= 5, what="everyone listed")
    store.diagnostics()
    json.dumps(store.snapshot())
    (odd,) = [p for p in store.processes() if p.name == "odd-schema"]
    assert odd.producers == [("prices", "price-feed", "producer", "x.py:1")]


def test_a_key_overwritten_then_repaired_is_followed_again(
    redis_server: RedisServer, links: list[StoreLink], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="mapstore_core.link")
    receiver, _ = link(redis_server, links, "web-1")
    sender, _ = link(redis_server, links, "feed-1")
    prices = sender.register_producer("prices", "price-feed")
    orders = sender.register_producer("orders", "order-feed")
    prices.publish(1)
    orders.publish(1)
    poll_until(lambda: value_of(receiver, "orders", "order-feed@feed-1") == 1, what="arrives")
    client = redis_server.client()
    client.delete(KEYS.stream("prices"))
    client.set(KEYS.stream("prices"), "clobbered")
    client.delete(KEYS.channels)
    client.set(KEYS.channels, "clobbered")
    orders.publish(2)  # the other channel goes on meanwhile
    poll_until(lambda: value_of(receiver, "orders", "order-feed@feed-1") == 2, what="goes on")
    client.delete(KEYS.stream("prices"), KEYS.channels)  # repaired (deleted)
    prices.publish(2)
    poll_until(lambda: value_of(receiver, "prices", "price-feed@feed-1") == 2, what="followed")
    rejoins = [r for r in caplog.records if "re-join" in r.getMessage()]
    assert rejoins == []


def test_an_entry_cannot_take_over_a_process(
    redis_server: RedisServer, links: list[StoreLink], no_tracebacks: None
) -> None:
    receiver, receiving, _, _, feed = pair(redis_server, links)
    closed: list[StoreEvent] = []
    receiver.subscribe_events(lambda e: closed.append(e) if e.kind == "closed" else None)
    client = redis_server.client()
    client.xadd(KEYS.stream("prices"), {"m": entry("feed-1", "forged", 1, b"666")})
    run = json.loads(client.get(KEYS.proc("feed-1")))["incarnation"]
    client.xadd(KEYS.stream("prices"), {"m": entry("feed-1", run, 10**15, b"667")})
    feed.publish(2)  # the real process's next update still arrives
    poll_until(lambda: value_of(receiver, "prices", "price-feed@feed-1") == 2, what="real one")
    assert closed == []
    assert receiving.stats()["dropped"] >= 1


def test_fake_processes_cost_a_bounded_amount(
    redis_server: RedisServer, links: list[StoreLink], no_tracebacks: None
) -> None:
    client = redis_server.client()
    soon = redis_now_ms(client) + 60_000
    pipe = client.pipeline(transaction=False)
    for start in range(0, 3 * MAX_PROCESSES, 1_000):
        pipe.zadd(KEYS.procs, {f"fake-{n}": soon - n for n in range(start, start + 1_000)})
    pipe.execute()
    store = MapObjectStore()
    seen = news(store)  # before the link: its first heartbeat tells
    _, linked = link(redis_server, links, "web-1", store)
    assert linked.wait_ready(timeout=15)
    poll_until(lambda: told(seen, "over the"), what="the excess told")
    names = {p.name for p in store.processes()}
    assert len(names) <= MAX_PROCESSES and "web-1" in names


def test_names_from_other_processes_never_drive_the_terminal(
    redis_server: RedisServer, links: list[StoreLink], capsys: pytest.CaptureFixture[str]
) -> None:
    sender, linked = link(redis_server, links, "feed-1")
    sender.register_producer("prices", "feed\x1b[2J\x1b]0;owned\x07").publish(1)
    poll_until(lambda: linked.stats()["sent"] >= 1, what="sent")
    assert cli.main(["log-producers", "--attach", redis_server.url, "--namespace", NS]) == 0
    out = capsys.readouterr().out
    assert "feed" in out and "\x1b" not in out and "\x07" not in out


def test_a_password_in_the_url_options_is_never_printed(
    capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    url = f"unix://{tmp_path}/none.sock?password=hunter2"
    assert cli.main(["snapshot", "--attach", url, "--namespace", NS]) == 2
    err = capsys.readouterr().err
    assert "cannot read namespace" in err and "hunter2" not in err and "password=***" in err


APP_USER = (
    "dash-app on >app-secret ~mapstore:dash:* +@read +@write +@connection +time -@dangerous "
    "+client|setname"
)
PANEL_USER = "dash-panel on >panel-secret ~mapstore:dash:* +@read +@connection +time -@write"


def test_the_readme_acl_users_link_and_watch(tmp_path: Any) -> None:
    readme = (Path(__file__).parents[2] / "docs" / "security.md").read_text()
    for user in (APP_USER, PANEL_USER):
        assert f"ACL SETUSER {user}\n" in readme
    server = RedisServer(tmp_path, tcp=True).start()
    try:
        admin = server.client()
        for user in (APP_USER, PANEL_USER):
            admin.execute_command("ACL", "SETUSER", *user.split())
        address = f"127.0.0.1:{server.port}/0"
        app, panel = MapObjectStore(), MapObjectStore()
        feed = app.register_producer("prices", "price-feed")
        with (
            app.link(f"redis://dash-app:app-secret@{address}", namespace="dash", name="w-1") as a,
            panel.link(
                f"redis://dash-panel:panel-secret@{address}", namespace="dash", observer=True
            ) as p,
        ):
            feed.publish(5)
            poll_until(lambda: panel.values("prices").get("price-feed@w-1") == 5, what="seen")
            assert a.status == p.status == "connected"
        import redis

        reader = redis.Redis.from_url(f"redis://dash-panel:panel-secret@{address}")
        with pytest.raises(redis.exceptions.NoPermissionError):
            reader.set("mapstore:dash:channels", "clobbered")  # a panel cannot write
        reader.close()
    finally:
        server.stop()


def test_an_oversized_announcement_is_never_pulled(redis_server: RedisServer) -> None:
    client = redis_server.client()
    client.set(KEYS.proc("big"), b"{" + b" " * MAX_RECORD_BYTES + b"}")
    client.set(KEYS.proc("small"), b'{"name":"small"}')
    keys = [KEYS.proc("big"), KEYS.proc("small"), KEYS.proc("missing")]
    assert fetch_records(client, keys) == [None, b'{"name":"small"}', None]


def test_a_refused_entry_counts_every_update_it_carried(
    redis_server: RedisServer, links: list[StoreLink]
) -> None:
    _, receiving, _, _, _ = pair(redis_server, links)
    before = receiving.stats()["dropped"]
    client = redis_server.client()
    client.xadd(KEYS.stream("prices"), {"m": b'{"v":2,"p":"feed-1"}\n[1,{}]\n[2,{}]\n[3,{}]'})
    poll_until(lambda: receiving.stats()["dropped"] == before + 3, what="three counted")


# -- what a fresh hostile review found --------------------------------------------------------


class Node(BaseModel):
    children: list[Node] = []


class TreeV1(BaseModel):
    root: Node


class TreeV2(BaseModel):
    root: Node
    label: str = ""


def test_a_recursive_model_in_a_schema_mismatch_stops_nothing(
    redis_server: RedisServer, links: list[StoreLink], no_tracebacks: None
) -> None:
    """No attacker: a rolling deploy of a model with a recursive sub-model."""
    old, new = MapObjectStore(), MapObjectStore()
    old.define_channel("tree", TreeV1)
    new.define_channel("tree", TreeV2)
    old.register_producer("tree", "tree-feed")
    new.register_consumer("tree", "tree-widget")
    link(redis_server, links, "web-1", new)
    victim = MapObjectStore()
    victim.register_producer("prices", "price-feed").publish(1)
    _, dying = link(redis_server, links, "victim-1", victim)
    link(redis_server, links, "jobs-1", old)
    poll_until(
        lambda: any(d.rule == "schema-mismatch" for d in new.diagnostics()), what="the finding"
    )
    poll_until(lambda: new.values("prices").get("price-feed@victim-1") == 1, what="arrives")
    crash(dying)
    poll_until(lambda: "price-feed@victim-1" not in new.values("prices"), what="still reaps")


def test_an_overwritten_announcement_is_reclaimed_and_quiet_values_come_back(
    redis_server: RedisServer, links: list[StoreLink]
) -> None:
    receiver, _ = link(redis_server, links, "web-1")
    sender, _ = link(redis_server, links, "feed-1")
    sender.register_producer("prices", "price-feed").publish(1)
    sender.register_producer("prices", "quiet-feed").publish(42)
    poll_until(lambda: value_of(receiver, "prices", "quiet-feed@feed-1") == 42, what="arrives")
    client = redis_server.client()
    record = json.loads(client.get(KEYS.proc("feed-1")))
    client.set(KEYS.proc("feed-1"), json.dumps({**record, "incarnation": "evil"}), keepttl=True)
    client.xadd(KEYS.stream("prices"), {"m": entry("feed-1", "evil", 1, b"666")})
    poll_until(
        lambda: b'"incarnation": "evil"' not in client.get(KEYS.proc("feed-1")), what="reclaimed"
    )
    poll_until(
        lambda: (
            value_of(receiver, "prices", "quiet-feed@feed-1") == 42
            and value_of(receiver, "prices", "price-feed@feed-1") == 1
        ),
        what="the quiet producer's value back",
    )


def test_a_forged_jump_in_numbers_does_not_silence_the_producer(
    redis_server: RedisServer, links: list[StoreLink]
) -> None:
    receiver, _ = link(redis_server, links, "web-1")
    sender, _ = link(redis_server, links, "feed-1")
    feed = sender.register_producer("prices", "feed")
    feed.publish(1)
    poll_until(lambda: value_of(receiver, "prices", "feed@feed-1") == 1, what="arrives")
    client = redis_server.client()
    run = json.loads(client.get(KEYS.proc("feed-1")))["incarnation"]
    client.xadd(KEYS.stream("prices"), {"m": entry("feed-1", run, 3 + 500, b"666")})
    poll_until(lambda: value_of(receiver, "prices", "feed@feed-1") == 666, what="the forgery")
    feed.publish(2)
    poll_until(lambda: value_of(receiver, "prices", "feed@feed-1") == 2, what="the real one")


def test_a_stuffed_channels_set_never_stalls_delivery(
    redis_server: RedisServer, links: list[StoreLink], no_tracebacks: None
) -> None:
    client = redis_server.client()
    pipe = client.pipeline(transaction=False)
    for start in range(0, 20_000, 1_000):
        pipe.sadd(KEYS.channels, *[f"fake-{n}" for n in range(start, start + 1_000)])
    pipe.execute()
    pair(redis_server, links)  # and feed-1's update still reaches web-1 (pair waits for it)


def test_remote_producers_are_bounded(
    redis_server: RedisServer, links: list[StoreLink], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_following, "MAX_REMOTE_PRODUCERS", 5)
    receiver, _ = link(redis_server, links, "web-1")
    seen = news(receiver)
    sender, _ = link(redis_server, links, "feed-1")
    for n in range(8):
        sender.register_producer("prices", f"price-feed-{n}").publish(n)
    poll_until(lambda: told(seen, "producers of other processes"), what="the bound told")
    assert len(receiver.values("prices")) == 5


def test_a_registry_of_the_wrong_type_is_told_not_raised(
    redis_server: RedisServer, links: list[StoreLink], no_tracebacks: None
) -> None:
    client = redis_server.client()
    client.set(KEYS.procs, "clobbered")
    store = MapObjectStore()
    seen = news(store)  # before the link: its first heartbeat tells
    _, linked = link(redis_server, links, "web-1", store)
    poll_until(lambda: told(seen, "is not a sorted set"), what="told")
    client.delete(KEYS.procs)
    poll_until(lambda: any(p.name == "web-1" for p in store.processes()), what="repaired")
    assert linked.status == "connected"


def test_ten_thousand_producers_of_one_channel_cross_after_a_reconnect(
    redis_server: RedisServer, links: list[StoreLink]
) -> None:
    """All of a channel's producers re-sent at once (at link time, as after a reconnect).

    Each entry describes the producers it carries: before, every split of the batch carried
    all 10,000 descriptions, never got under the entry limit and was dropped line by line.
    """
    sender = MapObjectStore()
    for n in range(10_000):
        sender.register_producer("prices", f"price-feed-{n}").publish(n)
    receiver, _ = link(redis_server, links, "web-1")
    _, sending = link(redis_server, links, "feed-1", sender)
    poll_until(lambda: len(receiver.values("prices")) == 10_000, what="every producer over there")
    assert sending.stats()["dropped"] == 0
