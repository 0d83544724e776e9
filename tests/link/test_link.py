"""store.link(): one store across processes through a real, private redis-server.

Every test runs a real redis-server (tests/link/helpers.py) and, where it says so, real
second processes (tests/link/worker.py). Waits are generous and bounded; nothing is timed.
"""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from mapstore_core import (
    ChannelUpdate,
    LinkError,
    MapObjectStore,
    StoreEvent,
    StoreLink,
    create_widget_publisher,
    define_channel,
)
from mapstore_core.link._following import Follower
from tests.link.helpers import RedisServer, spawn_worker
from tests.poll import poll_until

HB = 0.5  # heartbeat for tests: 3 missed = 1.5 s (generous on a loaded machine)


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def linked(
    server: RedisServer,
    links: list[StoreLink],
    name: str,
    store: MapObjectStore | None = None,
    *,
    max_queue: int = 10_000,
) -> tuple[MapObjectStore, StoreLink]:
    store = store or MapObjectStore()
    link = store.link(server.url, namespace="test", name=name, heartbeat=HB, max_queue=max_queue)
    links.append(link)
    return store, link


def expect_line(proc: subprocess.Popen[str], text: str) -> None:
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    assert line == text, (
        f"worker said {line!r}; stderr: {proc.stderr.read() if proc.stderr else ''}"
    )


def events_of(store: MapObjectStore) -> list[StoreEvent]:
    seen: list[StoreEvent] = []
    store.subscribe_events(seen.append)
    return seen


def test_updates_published_in_another_process_reach_this_one_in_order(
    redis_server: RedisServer, links: list[StoreLink], workers: list[subprocess.Popen[str]]
) -> None:
    store, _ = linked(redis_server, links, "panel")
    got: list[ChannelUpdate] = []
    store.register_consumer("ticks", "tick-widget", callback=got.append)
    events = events_of(store)
    proc = spawn_worker(redis_server.url, "pub-1", "publish", "2000")
    workers.append(proc)
    expect_line(proc, "ready")
    expect_line(proc, "done")

    poll_until(lambda: got and got[-1].value == {"n": 1999}, what="the last of 2,000 updates")
    published = [u for u in got if u.kind == "published"]
    assert [u.value["n"] for u in published] == list(range(2000))  # all of them, in order
    assert {(u.producer_id, u.process) for u in got} == {("tick-service", "pub-1")}

    (info,) = store.producers("ticks")
    assert (info.id, info.process, info.kind, info.has_value) == (
        "tick-service",
        "pub-1",
        "producer",
        True,
    )
    assert info.registered_at.endswith("worker.py:42")
    assert store.values("ticks") == {"tick-service@pub-1": {"n": 1999}}
    assert store.get("ticks") == {"n": 1999}
    assert store.history("ticks")[-1].process == "pub-1"
    assert store.log_producers("ticks") == (
        "📤 Channel: ticks\n   Producers: 1\n   1. tick-service (producer @ pub-1)"
    )
    snap = store.snapshot()
    assert snap["values"]["ticks"] == {"tick-service@pub-1": {"n": 1999}}
    assert snap["producers"][0]["process"] == "pub-1"
    registered = [e for e in events if e.kind == "registered"]
    assert [(e.producer_id, e.process) for e in registered] == [("tick-service", "pub-1")]

    assert proc.stdin is not None
    proc.stdin.write("\n")  # the worker closes its link and exits
    proc.stdin.flush()
    assert proc.wait(timeout=15) == 0
    poll_until(lambda: not store.producers("ticks"), what="the producer to close")
    (closed,) = [e for e in events if e.kind == "closed"]
    assert closed.process == "pub-1"
    assert closed.message == "process 'pub-1' closed its link"


def test_a_consumer_in_another_process_gets_local_updates(
    redis_server: RedisServer, links: list[StoreLink], workers: list[subprocess.Popen[str]]
) -> None:
    proc = spawn_worker(redis_server.url, "web-2", "consume")
    workers.append(proc)
    expect_line(proc, "ready")
    store, _ = linked(redis_server, links, "web-1")
    producer = store.register_producer("ticks", "tick-service")
    for i in range(100):
        producer.publish({"n": i})
    assert proc.stdout is not None
    seen = []
    while len(seen) < 100:
        seen.append(json.loads(proc.stdout.readline()))
    assert seen == [
        {"producer": "tick-service", "process": "web-1", "value": {"n": i}} for i in range(100)
    ]


def test_a_process_killed_with_sigkill_is_gone_everywhere(
    redis_server: RedisServer, links: list[StoreLink], workers: list[subprocess.Popen[str]]
) -> None:
    store, _ = linked(redis_server, links, "panel")
    events = events_of(store)
    proc = spawn_worker(redis_server.url, "doomed", "stream")
    workers.append(proc)
    expect_line(proc, "ready")
    poll_until(lambda: store.producers("ticks"), what="the streaming producer")

    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    poll_until(lambda: not store.producers("ticks"), what="the killed process's producer to close")
    (closed,) = [e for e in events if e.kind == "closed"]
    assert closed.producer_id == "tick-service"
    assert closed.process == "doomed"
    assert closed.message is not None
    assert "process 'doomed' missed 3 heartbeats" in closed.message
    client = redis_server.client()
    try:
        assert client.zscore("mapstore:test:procs", "doomed") is None  # reaped from Redis too
    finally:
        client.close()


def test_redis_restarted_mid_stream_with_its_data_lost(
    redis_server: RedisServer, links: list[StoreLink], workers: list[subprocess.Popen[str]]
) -> None:
    store, link = linked(redis_server, links, "panel")
    proc = spawn_worker(redis_server.url, "streamer", "stream")
    workers.append(proc)
    expect_line(proc, "ready")
    poll_until(lambda: store.get("ticks"), what="the first updates")

    redis_server.stop()
    poll_until(lambda: link.status == "disconnected", what="the link to notice")
    held = store.get("ticks")["n"]
    assert store.producers("ticks")[0].process == "streamer"  # a Redis outage is not death

    redis_server.start()  # empty: no persistence
    poll_until(lambda: link.status == "connected", what="the link to reconnect")
    poll_until(lambda: store.get("ticks")["n"] > held + 50, what="updates after the restart")
    client = redis_server.client()
    try:  # both processes announced themselves again
        poll_until(
            lambda: (
                {m.decode() for m in client.zrange("mapstore:test:procs", 0, -1)}
                == {"panel", "streamer"}
            ),
            what="both processes to re-announce",
        )
    finally:
        client.close()
    assert [p.process for p in store.producers("ticks")] == ["streamer"]


def test_redis_not_up_at_link_time(tmp_path: Path, links: list[StoreLink]) -> None:
    server = RedisServer(tmp_path)  # not started yet
    try:
        store, link = linked(server, links, "early")
        assert link.status in ("connecting", "disconnected")
        producer = store.register_producer("ticks", "tick-service")
        producer.publish({"n": 1})  # local first: works, does not raise, does not wait
        assert store.get("ticks") == {"n": 1}

        server.start()
        poll_until(lambda: link.status == "connected", what="the link to connect")
        other, _ = linked(server, links, "late")
        poll_until(lambda: other.get("ticks") == {"n": 1}, what="the value in the other store")
    finally:
        for link in links:
            link.close()
        server.stop()


def test_redis_away_coalesces_to_the_newest_value_and_says_what_was_skipped(
    redis_server: RedisServer, links: list[StoreLink]
) -> None:
    """Redis down: nothing is queued for it (it would only keep payloads alive); when it is
    back, the newest value goes, and the gap is counted and told on both sides."""
    sender, link = linked(redis_server, links, "sender")
    receiver, _ = linked(redis_server, links, "receiver")
    events = events_of(receiver)
    sender_events = events_of(sender)
    producer = sender.register_producer("ticks", "tick-service")
    producer.publish({"n": 0})
    poll_until(lambda: receiver.get("ticks") == {"n": 0}, what="the first update")

    redis_server.stop()
    poll_until(lambda: link.status == "disconnected", what="the sender to notice")
    assert link.coalescing
    for i in range(1, 5001):
        producer.publish({"n": i})
    assert link.stats()["queue"] == 0  # each publish only numbered: memory does not grow

    redis_server.start()
    poll_until(lambda: receiver.get("ticks") == {"n": 5000}, what="the newest value")
    # The receiver may apply the newest before the sender's writer, back from Redis, counts
    # what it shipped and skipped: wait for the sender's account of every update too.
    ops = 1 + 1 + 5000  # reg, {"n": 0}, the outage's publishes
    poll_until(
        lambda: link.stats()["sent"] + link.stats()["coalesced"] >= ops,
        what="the sender to account for every update",
    )
    stats = link.stats()
    # only the newest of the outage went
    assert stats["coalesced"] == 5000 - 1 and stats["sent"] + stats["coalesced"] == ops
    skipped = poll_until(
        lambda: [e for e in sender_events if e.kind == "link_dropped"],
        what="the sender's link_dropped event",
    )
    assert "skipped 4999 update(s): Redis was away" in (skipped[0].message or "")
    history = receiver.history("ticks")
    assert [u.value["n"] for u in history if u.kind == "published"] == [0, 5000]
    gaps = [u for u in history if u.kind == "gap"]
    assert [(g.process, g.value) for g in gaps] == [("sender", {"skipped": 4999})]
    dropped = [e for e in events if e.kind == "link_dropped"]
    assert dropped and dropped[0].producer_id == "tick-service"
    assert "skipped" in (dropped[0].message or "")
    poll_until(lambda: not link.coalescing, what="the link to ship every update again")


def test_a_flood_coalesces_counts_every_update_once_and_ends(
    redis_server: RedisServer, links: list[StoreLink]
) -> None:
    """Publishes outrunning the link: the newest arrives, and every update is either
    delivered in order or counted as skipped, once, on both sides; then all flow again."""
    sender, link = linked(redis_server, links, "sender", max_queue=100)
    receiver, receiving = linked(
        redis_server, links, "receiver", MapObjectStore(history_size=100_000)
    )
    sender_events = events_of(sender)
    producer = sender.register_producer("ticks", "tick-service")
    producer.publish({"n": -1})
    poll_until(lambda: receiver.get("ticks") == {"n": -1}, what="the first update")
    for i in range(20_000):  # a tight loop: far faster than one thread can ship to Redis
        producer.publish({"n": i})
    poll_until(lambda: receiver.get("ticks") == {"n": 19_999}, what="the newest value")
    poll_until(lambda: not link.coalescing, what="the flood to be over")

    stats = link.stats()
    assert stats["coalesced"] > 0
    assert stats["sent"] + stats["coalesced"] == 20_002  # the registration and each publish
    history = receiver.history("ticks")
    published = [u.value["n"] for u in history if u.kind == "published"]
    assert published == sorted(set(published))  # in order, once
    assert published[0] == -1 and published[-1] == 19_999
    assert receiving.stats()["received"] == stats["sent"] >= len(published)
    assert sum(u.value["skipped"] for u in history if u.kind == "gap") == stats["coalesced"]
    told = [e for e in sender_events if e.kind == "link_dropped"]
    assert told and all("publishes outran it" in (e.message or "") for e in told)

    for i in range(20_000, 20_050):  # the flood is over: every update goes again
        producer.publish({"n": i})
    poll_until(lambda: receiver.get("ticks") == {"n": 20_049}, what="the last update")
    published = [u.value["n"] for u in receiver.history("ticks") if u.kind == "published"]
    assert published[-50:] == list(range(20_000, 20_050))
    assert link.stats()["coalesced"] == stats["coalesced"]


def test_an_id_closed_and_registered_again_in_a_flood_is_a_new_producer_over_there(
    redis_server: RedisServer, links: list[StoreLink]
) -> None:
    sender, link = linked(redis_server, links, "sender", max_queue=100)
    receiver, _ = linked(redis_server, links, "receiver")
    seen = events_of(receiver)
    first = sender.register_producer("ticks", "tick-service")
    first.publish({"run": 1, "n": -1})
    poll_until(lambda: receiver.get("ticks") == {"run": 1, "n": -1}, what="the first producer")
    for i in range(5_000):
        first.publish({"run": 1, "n": i})
    first.close()
    second = sender.register_producer("ticks", "tick-service")  # the same id, a new producer
    second.publish({"run": 2})
    poll_until(lambda: receiver.get("ticks") == {"run": 2}, what="the second producer's value")
    poll_until(lambda: link.stats()["queue"] == 0 and not link.coalescing, what="the link idle")
    closed = [e for e in seen if e.kind == "closed" and e.producer_id == "tick-service"]
    assert len(closed) == 1 and closed[0].process == "sender"
    assert receiver.values("ticks") == {"tick-service@sender": {"run": 2}}
    stats = link.stats()
    # each producer's registration, publishes, clear and close: sent or counted as skipped
    assert stats["sent"] + stats["coalesced"] == (1 + 5_001 + 1 + 1) + (1 + 1)


def test_an_integer_too_long_to_parse_goes_as_text_and_loses_no_other_update(
    redis_server: RedisServer, links: list[StoreLink]
) -> None:
    """Python refuses to parse 4,301+ digits: once, one such value made receivers drop the
    whole entry, every other producer's updates in it included."""
    sender, link = linked(redis_server, links, "sender")
    receiver, receiving = linked(redis_server, links, "receiver")
    huge = sender.register_producer("numbers", "huge-service")
    fine = sender.register_producer("numbers", "fine-service")
    huge.publish({"id": 10**5000})
    fine.publish({"n": 1})  # most likely in the same entry as the huge one
    poll_until(lambda: len(receiver.values("numbers")) == 2, what="both values")
    assert receiver.values("numbers") == {
        "huge-service@sender": {"id": "<int of about 5,001 digits, longer than JSON here carries>"},
        "fine-service@sender": {"n": 1},
    }
    assert receiving.stats()["dropped"] == 0 and link.stats()["dropped"] == 0
    assert sender.get("numbers") == {"n": 1} and sender.values("numbers")["huge-service"] == {
        "id": 10**5000  # the sender's own store keeps the number
    }


def test_late_joiners_get_current_values_and_recent_history(
    redis_server: RedisServer, links: list[StoreLink]
) -> None:
    early, _ = linked(redis_server, links, "early")
    producer = early.register_producer("ticks", "tick-service")
    quiet = early.register_producer("status", "status-service")
    quiet.publish({"up": True})
    for i in range(10):
        producer.publish({"n": i})
    late_store = MapObjectStore()
    got: list[ChannelUpdate] = []
    late_store.register_consumer("ticks", "tick-widget", callback=got.append)
    _ = poll_until(lambda: early.producers(), what="registration")
    linked(redis_server, links, "late", late_store)
    poll_until(lambda: late_store.get("ticks") == {"n": 9}, what="the current value")
    poll_until(lambda: late_store.get("status") == {"up": True}, what="the quiet producer's value")
    assert [u.value["n"] for u in late_store.history("ticks")][-10:] == list(range(10))
    assert got[-1].value == {"n": 9}


class PriceHere(BaseModel):
    price: int
    currency: str


class PriceThere(BaseModel):
    price: float
    currency: str = "EUR"


def test_two_stores_with_different_models_for_one_channel(
    redis_server: RedisServer, links: list[StoreLink]
) -> None:
    there = MapObjectStore()
    define_channel("prices", PriceThere, store=there)
    here = MapObjectStore()
    define_channel("prices", PriceHere, store=here)
    linked(redis_server, links, "there", there)
    linked(redis_server, links, "here", here)
    events = events_of(here)
    pub = create_widget_publisher("prices", "price-service", store=there)
    pub.publish({"price": 2})
    poll_until(lambda: here.get("prices") == PriceHere(price=2, currency="EUR"), what="a fit")

    pub.publish({"price": 2.5})  # valid there, not here (int)
    poll_until(lambda: [e for e in events if e.kind == "validation_failed"], what="the rejection")
    (rejected,) = [e for e in events if e.kind == "validation_failed"]
    assert (rejected.producer_id, rejected.process) == ("price-service", "there")
    assert rejected.problems is not None and "price" in rejected.problems
    assert "from process 'there'" in (rejected.message or "")
    assert here.get("prices") == PriceHere(price=2, currency="EUR")  # the last good value stays
    assert links[1].stats()["rejected"] == 1


def test_hostile_entries_in_the_namespace_are_dropped_and_counted(
    redis_server: RedisServer, links: list[StoreLink]
) -> None:
    store, link = linked(redis_server, links, "victim")
    events = events_of(store)
    sender, _ = linked(redis_server, links, "honest")
    producer = sender.register_producer("ticks", "tick-service")
    producer.publish({"n": 0})
    poll_until(lambda: store.get("ticks") == {"n": 0}, what="the first update")

    client = redis_server.client()
    try:
        stream = "mapstore:test:{ticks}:stream"
        hostile: list[Any] = [
            b"\x80\x04\x95pickle",  # pickle bytes
            b"not json",
            b"[1, 2, 3]",
            json.dumps({"v": 99, "p": "x", "i": "1", "c": "ticks", "P": {}, "u": []}),
            json.dumps({"v": 1, "p": "evil", "i": "1", "c": "other", "P": {}, "u": []}),
            json.dumps(
                {
                    "v": 1,
                    "p": "evil",
                    "i": "1",
                    "c": "ticks",
                    "P": {"x": ["producer", "a", 1]},
                    "u": [["pub", "x", 0, 1.0, {}]],
                }
            ),
            json.dumps(
                {
                    "v": 1,
                    "p": "evil",
                    "i": "1",
                    "c": "ticks",
                    "P": {"x": ["producer", "a", True]},
                    "u": [["pub", "x", -5, 1.0, {}]],
                }
            ),
            b"{" * 600_000,  # oversized
        ]
        for raw in hostile:
            client.xadd(stream, {"m": raw})
        client.xadd(stream, {"other-field": b"x"})
        client.hset("mapstore:test:{ticks}:latest", "evil\nx", b"\x00garbage")
    finally:
        client.close()
    producer.publish({"n": 1})
    poll_until(lambda: store.get("ticks") == {"n": 1}, what="honest updates after the garbage")
    assert link.stats()["dropped"] >= len(hostile) + 1
    assert [p.process for p in store.producers("ticks")] == ["honest"]
    assert any(e.kind == "link_dropped" for e in events)
    assert link.status == "connected"


def test_hostile_events_in_a_format_2_entry_are_dropped_alone_and_counted(
    redis_server: RedisServer, links: list[StoreLink]
) -> None:
    """Entry format 2 wraps events: a bad one is refused, counted and told; the good events
    of the same entry still arrive (no lost batch), in the stream and in the ``latest``
    hash, and nothing a sender adds to a registration's detail reaches this store."""
    store, link = linked(redis_server, links, "victim")
    events = events_of(store)
    sender, _ = linked(redis_server, links, "honest")
    sender.register_producer("ticks", "tick-service").publish({"n": 0})
    poll_until(lambda: store.get("ticks") == {"n": 0}, what="the channel followed")

    def registration(pid: str) -> dict[str, Any]:
        return {
            "kind": "registered",
            "channel": "ticks",
            "producer_id": pid,
            "timestamp": 1.0,
            "where": "evil.py:1",
            "detail": {"kind": "producer", "validated": False, "order": 10**9, "junk": "x" * 99},
        }

    def publish(pid: str, n: int, value: Any, **extra: Any) -> list[Any]:
        update = {"channel": "ticks", "producer_id": pid, "kind": "published", "value": value}
        event = {"kind": "published", "channel": "ticks", "producer_id": pid, "timestamp": 1.0}
        return [n, {**event, "update": {**update, "seq": 0, "timestamp": 1.0}, **extra}]

    reg = registration("x")
    bad_events: list[Any] = [
        [1],  # not [n, event]
        "[2, {",  # not JSON (a line of its own: it costs no other line)
        [-1, reg],  # a negative number
        [True, reg],  # a bool is no number
        [2, {"kind": "exploded", "timestamp": 1.0}],  # not a store event
        [2, {**reg, "kind": "fleet"}],  # a kind that never crosses a link
        [2, {**reg, "channel": "other"}],  # another channel's
        [2, {**reg, "producer_id": "nobody"}],  # a producer the entry does not describe
        [2, {**reg, "process": "someone-else"}],  # another process's
        [2, {**reg, "detail": {"kind": ["producer"]}}],  # an unhashable producer kind
        [2, {"kind": "published", "channel": "ticks", "producer_id": "x", "timestamp": 1.0}],
        publish("x", 2, {"n": 1}, timestamp=10**400),  # a number no float holds
    ]

    def entry(*changes: Any) -> str:  # format 2: a header line, then a line per event
        described = {pid: ["producer", "evil.py:1", False] for pid in ("x", "y")}
        header = {"v": 2, "p": "evil", "i": "1", "c": "ticks", "P": described}
        return "\n".join(c if isinstance(c, str) else json.dumps(c) for c in (header, *changes))

    client = redis_server.client()
    try:
        seconds, _ = client.time()
        client.zadd("mapstore:test:procs", {"evil": (seconds + 600) * 1000})  # alive a while
        client.set("mapstore:test:proc:evil", json.dumps({"name": "evil", "incarnation": "1"}))
        stream = "mapstore:test:{ticks}:stream"
        client.xadd(stream, {"m": entry([1, reg], *bad_events, publish("x", 3, {"n": "good"}))})
        quiet = entry([1, registration("y")], [2, [1]], publish("y", 3, {"quiet": "good"}))
        client.hset("mapstore:test:{ticks}:latest", "evil\ny", quiet)
    finally:
        client.close()
    poll_until(lambda: store.values("ticks").get("x@evil") == {"n": "good"}, what="the good ones")
    # the refusals are told once the entry is through: wait for that, not only the values
    told = f"dropped {len(bad_events)} malformed event(s) of process 'evil'"
    poll_until(
        lambda: any(told in (e.message or "") for e in events if e.kind == "link_dropped"),
        what="the refusals told",
    )
    assert link.stats()["dropped"] == len(bad_events)
    (registered,) = [e for e in events if e.kind == "registered" and e.process == "evil"]
    assert registered.where == "evil.py:1"
    assert registered.detail is not None and "junk" not in registered.detail
    gaps = [u for u in store.history("ticks") if u.kind == "gap"]
    assert [g.value for g in gaps] == [{"skipped": 1}]  # the refused n=2 shows as skipped
    assert link.status == "connected"

    joiner, joining = linked(redis_server, links, "joiner")  # reads the stream, and the hash
    poll_until(lambda: joiner.values("ticks").get("y@evil") == {"quiet": "good"}, what="y")
    assert joiner.values("ticks").get("x@evil") == {"n": "good"}
    # and the hash's one bad event (all read in the join, told before its values are applied)
    assert joining.stats()["dropped"] == len(bad_events) + 1


def test_no_echo_a_store_never_sends_back_what_it_received(
    redis_server: RedisServer, links: list[StoreLink]
) -> None:
    a, link_a = linked(redis_server, links, "a")
    b, link_b = linked(redis_server, links, "b")
    pa = a.register_producer("ticks", "tick-service")
    pb = b.register_producer("ticks", "tick-service")  # same id, another process: another one
    pa.publish({"from": "a"})
    pb.publish({"from": "b"})
    poll_until(lambda: len(a.values("ticks")) == 2 and len(b.values("ticks")) == 2, what="both")
    assert a.values("ticks") == {"tick-service": {"from": "a"}, "tick-service@b": {"from": "b"}}
    assert b.values("ticks") == {"tick-service": {"from": "b"}, "tick-service@a": {"from": "a"}}
    assert a.log_producers() == (
        "📤 Channel: ticks\n   Producers: 2\n"
        "   1. tick-service (producer)\n   2. tick-service (producer @ b)"
    )
    assert link_a.stats()["sent"] == 2  # reg + pub: nothing received is re-sent
    assert link_b.stats()["sent"] == 2


def test_auth_through_the_url(tmp_path: Path) -> None:
    server = RedisServer(tmp_path, tcp=True, password="s3cret-pass").start()
    store = MapObjectStore()
    try:
        with store.link(server.url, namespace="test", name="authed", heartbeat=HB) as link:
            poll_until(lambda: link.status == "connected", what="an authenticated connection")
            assert "s3cret-pass" not in repr(link)
        assert link.status == "closed"
        wrong = server.url.replace("s3cret-pass", "wrong")
        with store.link(wrong, namespace="test", name="refused", heartbeat=HB) as refused:
            poll_until(lambda: refused.status == "disconnected", what="the refusal")
    finally:
        server.stop()


def test_link_arguments_and_lifecycle(redis_server: RedisServer) -> None:
    store = MapObjectStore()
    with pytest.raises(LinkError, match="namespace"):
        store.link(redis_server.url, namespace="bad namespace")
    with pytest.raises(LinkError, match="process name"):
        store.link(redis_server.url, namespace="test", name="has space")
    with pytest.raises(LinkError, match="Redis URL"):
        store.link("http://example.invalid", namespace="test")
    link = store.link(redis_server.url, namespace="test", heartbeat=HB)
    try:
        assert ":" in link.name  # "<host>:<pid>" by default
        with pytest.raises(LinkError, match="already linked"):
            store.link(redis_server.url, namespace="test")
        poll_until(lambda: link.status == "connected", what="connection")
        assert set(link.stats()) == {
            "sent",
            "received",
            "coalesced",
            "dropped",
            "rejected",
            "queue",
            "lag_ms",
        }
    finally:
        link.close()
    link.close()  # idempotent
    assert link.status == "closed"
    store.link(redis_server.url, namespace="test", heartbeat=HB).close()  # a new link is fine


def test_each_process_announces_itself_and_heartbeats_on_redis_clock(
    redis_server: RedisServer, links: list[StoreLink]
) -> None:
    store, link = linked(redis_server, links, "web-1")
    store.register_consumer("paragraph-content", "paragraph-widget")
    store.register_producer("ticks", "tick-service")
    client = redis_server.client()
    try:

        def record() -> dict[str, Any] | None:
            raw = client.get("mapstore:test:proc:web-1")
            data: dict[str, Any] | None = None if raw is None else json.loads(raw)
            return data if data and data["producers"] else None

        announced = poll_until(record, what="an announcement listing the producer")
        assert announced["name"] == "web-1"
        assert announced["pid"] > 0 and announced["host"] and announced["program"]
        assert announced["started"] > 0 and announced["version"]
        assert announced["heartbeat"] == HB
        assert announced["schemas"]["paragraph-content"].startswith("ParagraphContent:")
        ((channel, producer_id, kind, where),) = announced["producers"]
        assert (channel, producer_id, kind) == ("ticks", "tick-service", "producer")
        assert where.startswith("tests/link/test_link.py:")
        assert ["paragraph-content", "paragraph-widget"] in announced["consumers"]
        seconds, _ = client.time()
        deadline = client.zscore("mapstore:test:procs", "web-1")
        assert deadline is not None and deadline > seconds * 1000  # Redis's clock, ahead
    finally:
        client.close()
    link.close()
    client = redis_server.client()
    try:
        assert client.zscore("mapstore:test:procs", "web-1") is None  # a clean goodbye
        assert client.get("mapstore:test:proc:web-1") is None
    finally:
        client.close()


def test_an_acl_user_through_the_url(tmp_path: Path) -> None:
    server = RedisServer(tmp_path, tcp=True).start()
    client = server.client()
    store = MapObjectStore()
    try:
        client.execute_command(
            "ACL", "SETUSER", "linker", "on", ">linker-pass", "~mapstore:*", "+@all"
        )
        url = server.url.replace("redis://", "redis://linker:linker-pass@")
        with store.link(url, namespace="test", name="acl", heartbeat=HB) as link:
            producer = store.register_producer("ticks", "tick-service")
            producer.publish({"n": 1})
            poll_until(lambda: link.stats()["sent"] >= 2, what="updates written as the ACL user")
            assert "linker-pass" not in repr(link)
        assert client.exists("mapstore:test:{ticks}:stream") == 1
    finally:
        client.close()
        server.stop()


def test_a_joiner_does_not_replay_an_earlier_run_of_a_process_name(
    redis_server: RedisServer, links: list[StoreLink]
) -> None:
    first = MapObjectStore()
    with first.link(redis_server.url, namespace="test", name="svc", heartbeat=HB) as link:
        producer = first.register_producer("ticks", "tick-service")
        producer.publish({"run": 1})
        poll_until(lambda: link.stats()["sent"] >= 2, what="the first run's updates")
    second, _ = linked(redis_server, links, "svc")  # the same name, a new run
    second.register_producer("ticks", "tick-service").publish({"run": 2})
    poll_until(lambda: links[0].stats()["sent"] >= 2, what="the second run's updates")

    joiner = MapObjectStore()
    seen: list[ChannelUpdate] = []
    joiner.register_consumer("ticks", "tick-widget", callback=seen.append)
    linked(redis_server, links, "joiner", joiner)
    poll_until(lambda: joiner.values("ticks") == {"tick-service@svc": {"run": 2}}, what="run 2")
    assert [u.value for u in seen if u.kind == "published"] == [{"run": 2}]


def test_a_process_that_links_while_a_peer_joins_a_channel_is_not_skipped(
    redis_server: RedisServer, links: list[StoreLink], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The join race: a one-shot publish from a process that links while a peer catches up.

    The peer reads who is alive, then the channel's entries. A process that announces and
    publishes once just after that first read must still be seen.
    The interleaving is forced (the peer's reader runs the other process's whole start at
    that moment); everything else is the real link against the real server.
    """
    streaming, _ = linked(redis_server, links, "streaming")
    streaming.register_producer("ticks", "tick-service").publish({"from": "streaming"})
    poll_until(lambda: links[0].stats()["sent"] >= 2, what="the channel to exist")

    newcomer = MapObjectStore()

    def newcomer_links_and_publishes_once() -> None:
        _, link = linked(redis_server, links, "newcomer", newcomer)
        newcomer.register_producer("ticks", "once-service").publish({"from": "newcomer"})
        poll_until(lambda: link.stats()["sent"] >= 2, what="the newcomer's one-shot publish")

    original = Follower._live_processes  # the reader's look at who is alive
    forced: list[bool] = []

    def live_processes(self: Follower) -> dict[str, str | None]:
        alive = original(self)
        if self.name == "peer" and not forced:  # between the peer's two reads
            forced.append(True)
            newcomer_links_and_publishes_once()
        return alive

    monkeypatch.setattr(Follower, "_live_processes", live_processes)
    peer, _ = linked(redis_server, links, "peer")
    poll_until(lambda: "once-service@newcomer" in peer.values("ticks"), what="the one-shot value")
    assert forced == [True]
    assert peer.values("ticks") == {
        "tick-service@streaming": {"from": "streaming"},
        "once-service@newcomer": {"from": "newcomer"},
    }


def test_a_late_joiner_takes_recent_history_by_updates_not_by_entries(
    redis_server: RedisServer, links: list[StoreLink]
) -> None:
    busy, link = linked(redis_server, links, "busy")
    busy.register_producer("ticks", "quiet-service").publish({"quiet": True})
    producer = busy.register_producer("ticks", "tick-service")
    for i in range(3000):  # a few big entries: each carries many updates
        producer.publish({"n": i})
    poll_until(lambda: link.stats()["sent"] >= 3003, what="every update written")
    joiner = MapObjectStore(history_size=10)
    seen: list[ChannelUpdate] = []
    joiner.register_consumer("ticks", "tick-widget", callback=seen.append)
    linked(redis_server, links, "joiner", joiner)
    poll_until(lambda: len(joiner.values("ticks")) == 2, what="both producers' values")
    assert joiner.values("ticks") == {
        "quiet-service@busy": {"quiet": True},  # from the latest hash: out of the window
        "tick-service@busy": {"n": 2999},
    }
    assert joiner.get("ticks") == {"n": 2999}  # the newest is still the newest
    window = [{"n": n} for n in range(2990, 3000)]
    assert [u.value for u in joiner.history("ticks")] == window  # history_size updates
    assert [u.value for u in seen] == [{"quiet": True}, *window]


def test_a_stalled_redis_never_blocks_publishers_and_memory_stays_bounded(
    redis_server: RedisServer, links: list[StoreLink]
) -> None:
    """redis-server paused with SIGSTOP: connections hang instead of failing (a stall)."""
    sender, link = linked(redis_server, links, "sender", max_queue=100)
    receiver, _ = linked(redis_server, links, "receiver")
    producer = sender.register_producer("ticks", "tick-service")
    producer.publish({"n": 0})
    poll_until(lambda: receiver.get("ticks") == {"n": 0}, what="the first update")

    assert redis_server.process is not None
    redis_server.process.send_signal(signal.SIGSTOP)
    try:
        for i in range(1, 20_001):  # returns every time: nothing waits on the stalled server
            producer.publish({"n": i})
        assert link.stats()["queue"] <= 100
    finally:
        redis_server.process.send_signal(signal.SIGCONT)
    poll_until(lambda: receiver.get("ticks") == {"n": 20_000}, what="the newest value")
    assert link.stats()["coalesced"] > 0
