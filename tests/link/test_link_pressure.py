"""store.link() under pressure: floods, outages and races against a real redis-server.

An adversarial companion of test_link.py: every test checks the link's promises exactly
(docs/redis.md, *Pressure*): per producer, updates arrive in
publish order; the newest value is never lost; every update is delivered or counted as
skipped exactly once, on both sides; no thread of the link fails. Nothing is timed.
"""

from __future__ import annotations

import itertools
import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from pydantic import BaseModel

from mapstore_core import MapObjectStore, StoreLink, create_widget_publisher, define_channel
from tests.link.helpers import RedisServer
from tests.poll import poll_until

HB = 0.5


@pytest.fixture
def links() -> Iterator[list[StoreLink]]:
    made: list[StoreLink] = []
    yield made
    for link in made:
        link.close()


@pytest.fixture(autouse=True)
def no_thread_fails(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """No link thread may log a failure (a bug caught by its `except Exception`)."""
    caplog.set_level(logging.WARNING, logger="mapstore_core.link")
    yield
    failed = [r.getMessage() for r in caplog.records if "failed" in r.getMessage()]
    assert not failed, failed


def linked(
    server: RedisServer,
    links: list[StoreLink],
    name: str,
    store: MapObjectStore | None = None,
    **options: Any,
) -> tuple[MapObjectStore, StoreLink]:
    store = store or MapObjectStore(history_size=100_000)
    link = store.link(server.url, namespace="test", name=name, heartbeat=HB, **options)
    links.append(link)
    return store, link


def idle(link: StoreLink) -> bool:
    return link.stats()["queue"] == 0 and not link.coalescing


def counted(link: StoreLink) -> tuple[float, float]:
    """What the sender accounts for: updates sent, updates counted as skipped."""
    stats = link.stats()
    return stats["sent"], stats["coalesced"]


def arrived(
    receiver: MapObjectStore, channel: str, producer_id: str, process: str = "sender"
) -> tuple[list[Any], int]:
    """What the receiver's history holds of one producer: its published values, its gaps."""
    mine = [
        u
        for u in receiver.history(channel)
        if u.producer_id == producer_id and u.process == process
    ]
    published = [u.value for u in mine if u.kind == "published"]
    return published, sum(u.value["skipped"] for u in mine if u.kind == "gap")


@contextmanager
def stalled(server: RedisServer) -> Iterator[None]:
    """redis-server paused (SIGSTOP): the link does not know it is away, so it queues.

    (A stopped server is known away at once: the link then queues nothing more.) Resumed
    well inside the link's socket timeout, so no call fails.
    """
    assert server.process is not None
    server.process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        server.process.send_signal(signal.SIGCONT)


def in_publish_order(numbers: list[int]) -> bool:
    """Never backwards (a value may come twice: the newest read races its number)."""
    return all(a <= b for a, b in itertools.pairwise(numbers))


def test_a_producer_registered_in_a_stall_behind_a_long_queue_is_counted_once(
    redis_server: RedisServer, links: list[StoreLink]
) -> None:
    sender, link = linked(redis_server, links, "sender")
    receiver, receiving = linked(redis_server, links, "receiver")
    busy = sender.register_producer("ticks", "busy")
    busy.publish({"n": -1})
    poll_until(lambda: receiver.get("ticks") == {"n": -1}, what="the first update")

    with stalled(redis_server):
        for i in range(600):  # more than one slice (500), well under max_queue
            busy.publish({"n": i})
        late = sender.register_producer("ticks", "late")  # queued behind the 600
        late.publish({"late": 1})

    ops = (1 + 1 + 600) + (1 + 1)  # busy: reg, 601 publishes; late: reg, publish
    poll_until(lambda: idle(link) and sum(counted(link)) >= ops, what="the link to catch up")
    poll_until(
        lambda: receiver.values("ticks") == {"busy@sender": {"n": 599}, "late@sender": {"late": 1}},
        what="both newest values",
    )
    stats = link.stats()
    assert stats["sent"] + stats["coalesced"] == ops, stats
    assert receiving.stats()["received"] == stats["sent"], (receiving.stats(), stats)


def test_a_producer_publishing_while_the_link_attaches_is_linked_like_any_other(
    redis_server: RedisServer, links: list[StoreLink], monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver, _ = linked(redis_server, links, "receiver")
    sender = MapObjectStore()
    early = sender.register_producer("ticks", "early")  # before the link exists
    early.publish({"n": -2})
    attach = sender._attach_sink

    def attach_then_publish(*args: Any) -> Any:
        # Another thread's publish landing between the attach and the link's own look at
        # the producers it found (the window StoreLink.__init__ leaves open).
        current = attach(*args)
        early.publish({"n": -1})
        return current

    monkeypatch.setattr(sender, "_attach_sink", attach_then_publish)
    link = sender.link(redis_server.url, namespace="test", name="sender", max_queue=100)
    links.append(link)
    poll_until(lambda: receiver.get("ticks") == {"n": -1}, what="the value from the attach")

    for i in range(5_000):  # a flood: publishes are no longer queued, only numbered
        early.publish({"n": i})
    assert link.coalescing
    poll_until(lambda: receiver.get("ticks") == {"n": 4_999}, what="the newest value")
    (info,) = receiver.producers("ticks")
    assert info.registered_at == early.registered_at  # described like any other producer


def test_threads_flooding_several_channels_keep_every_promise(
    redis_server: RedisServer, links: list[StoreLink]
) -> None:
    """Four threads, each with two producers on two of four channels, flood one link."""
    sender, link = linked(redis_server, links, "sender", MapObjectStore(), max_queue=200)
    receiver, receiving = linked(redis_server, links, "receiver")
    channel_of = {f"p{t}-{k}": f"ch{(t + k) % 4}" for t in range(4) for k in range(2)}
    producers = {pid: sender.register_producer(ch, pid) for pid, ch in channel_of.items()}
    for producer in producers.values():
        producer.publish({"n": -1})
    poll_until(
        lambda: all(
            receiver.values(channel_of[pid]).get(f"{pid}@sender") == {"n": -1} for pid in producers
        ),
        what="every producer known over there before the flood",
    )
    before = link.stats()
    assert before["coalesced"] == 0 and before["sent"] == 2 * len(producers)

    per_thread = 4_000
    start = threading.Barrier(4)
    errors: list[BaseException] = []
    peak_queue = [0]

    def flood(t: int) -> None:
        try:
            mine = [producers[f"p{t}-{k}"] for k in range(2)]
            start.wait()
            for i in range(per_thread):
                mine[i % 2].publish({"n": i})
                if i % 500 == 0:
                    peak_queue[0] = max(peak_queue[0], int(link.stats()["queue"]))
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=flood, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert peak_queue[0] <= 200  # memory bounded by max_queue

    newest = {f"p{t}-{k}": per_thread - 2 + k for t in range(4) for k in range(2)}
    poll_until(
        lambda: all(
            receiver.values(channel_of[pid]).get(f"{pid}@sender") == {"n": newest[pid]}
            for pid in newest
        ),
        what="every producer's newest value",
    )
    poll_until(lambda: idle(link), what="the flood to be over")
    stats = link.stats()
    ops = len(producers) * 2 + 4 * per_thread  # each: reg, {"n": -1}; then the flood
    assert stats["coalesced"] > 0
    assert stats["sent"] + stats["coalesced"] == ops, stats
    poll_until(lambda: receiving.stats()["received"] == stats["sent"], what="everything sent read")
    gaps = 0
    for pid in newest:
        published, skipped = arrived(receiver, channel_of[pid], pid)
        numbers = [v["n"] for v in published]
        assert in_publish_order(numbers), pid
        assert numbers[0] == -1 and numbers[-1] == newest[pid]
        gaps += skipped
    assert gaps == stats["coalesced"]


def test_clears_in_a_flood_arrive_in_order_and_the_last_one_wins(
    redis_server: RedisServer, links: list[StoreLink]
) -> None:
    sender, link = linked(redis_server, links, "sender", MapObjectStore(), max_queue=100)
    receiver, receiving = linked(redis_server, links, "receiver")
    cleared = sender.register_producer("ticks", "cleared")
    steady = sender.register_producer("ticks", "steady")
    cleared.publish({"n": -1})
    steady.publish({"n": -1})
    poll_until(lambda: len(receiver.values("ticks")) == 2, what="both producers over there")
    for i in range(6_000):
        steady.publish({"n": i})
        if i < 5_000:
            cleared.publish({"n": i})
        if i in (2_000, 4_999):
            cleared.clear()  # queued while the queue has room, else its state goes
    poll_until(
        lambda: receiver.values("ticks") == {"steady@sender": {"n": 5_999}},
        what="the newest value, and the other producer cleared",
    )
    poll_until(lambda: idle(link), what="the flood to be over")
    stats = link.stats()
    ops = (2 + 5_000 + 2) + (2 + 6_000)
    assert stats["coalesced"] > 0
    assert stats["sent"] + stats["coalesced"] == ops, stats
    poll_until(lambda: receiving.stats()["received"] == stats["sent"], what="all sent, read")
    mine = [u for u in receiver.history("ticks") if u.producer_id == "cleared" and u.kind != "gap"]
    kinds = [u.kind for u in mine]
    # The last clear always wins. The first shows if the queue had room for it (a full queue
    # coalesces it: its producer's newest state goes, and a gap says so), and the second
    # only if a value went between the two (else it clears nothing).
    assert kinds[-1] == "cleared" and 1 <= kinds.count("cleared") <= 2
    values = [u.value["n"] for u in mine if u.kind == "published"]
    assert in_publish_order(values) and values[0] == -1 and values[-1] <= 4_999
    if kinds.count("cleared") == 2:
        first_clear = kinds.index("cleared")
        before = [u.value["n"] for u in mine[:first_clear]]
        after = [u.value["n"] for u in mine[first_clear:] if u.kind == "published"]
        assert before[-1] <= 2_000 and all(2_000 < n for n in after)
    gaps = sum(arrived(receiver, "ticks", pid)[1] for pid in ("cleared", "steady"))
    assert gaps == stats["coalesced"]


def test_a_link_closed_in_a_flood_sends_the_newest_values_then_the_close(
    redis_server: RedisServer, links: list[StoreLink]
) -> None:
    sender = MapObjectStore()
    link = sender.link(redis_server.url, namespace="test", name="sender", max_queue=100)
    receiver, receiving = linked(redis_server, links, "receiver")
    seen: list[Any] = []
    receiver.subscribe_events(seen.append)
    ticks = sender.register_producer("ticks", "ticks")
    tocks = sender.register_producer("tocks", "tocks")
    ticks.publish({"n": -1})
    tocks.publish({"n": -1})
    poll_until(lambda: receiver.get("tocks") == {"n": -1}, what="both producers over there")
    for i in range(5_000):
        ticks.publish({"n": i})
        tocks.publish({"n": -i})
    assert link.coalescing
    link.close()
    assert link.status == "closed"

    def closed() -> set[str | None]:
        return {e.producer_id for e in seen if e.kind == "closed" and e.process == "sender"}

    poll_until(lambda: closed() == {"ticks", "tocks"}, what="both producers closed over there")
    assert receiver.values("ticks") == {} and receiver.values("tocks") == {}
    for channel, last in (("ticks", 4_999), ("tocks", -4_999)):
        published, _gaps = arrived(receiver, channel, channel)
        assert published[-1] == {"n": last}, channel  # the newest went before the close
    stats = link.stats()
    ops = 2 * (2 + 5_000) + 2  # and the close the link sends for each, saying goodbye
    assert stats["sent"] + stats["coalesced"] == ops, stats
    assert receiving.stats()["received"] == stats["sent"]


def test_redis_restarted_empty_in_a_flood_the_newest_still_arrives_and_numbers_add_up(
    redis_server: RedisServer, links: list[StoreLink]
) -> None:
    sender, link = linked(redis_server, links, "sender", MapObjectStore(), max_queue=100)
    receiver, receiving = linked(redis_server, links, "receiver")
    producer = sender.register_producer("ticks", "ticks")
    producer.publish({"n": -1})
    poll_until(lambda: receiver.get("ticks") == {"n": -1}, what="the first update")
    for i in range(3_000):
        producer.publish({"n": i})
    redis_server.stop()  # whatever the receiver had not read yet is gone with the data
    poll_until(lambda: link.status == "disconnected", what="the sender to notice")
    for i in range(3_000, 6_000):
        producer.publish({"n": i})
    assert link.coalescing and link.stats()["queue"] <= 100
    redis_server.start()
    poll_until(lambda: receiver.get("ticks") == {"n": 5_999}, what="the newest value")
    poll_until(lambda: idle(link), what="the flood to be over")
    stats = link.stats()
    ops = 2 + 6_000
    assert stats["sent"] + stats["coalesced"] == ops, stats
    published, gaps = arrived(receiver, "ticks", "ticks")
    assert in_publish_order([v["n"] for v in published])
    # what Redis lost shows as a gap over there: every number is received or a gap, once
    assert receiving.stats()["received"] + gaps == ops
    producer.publish({"n": 6_000})  # and then every update goes again
    poll_until(lambda: receiver.get("ticks") == {"n": 6_000}, what="an update after the flood")
    assert link.stats()["coalesced"] == stats["coalesced"]


class Price(BaseModel):
    price: float
    n: int


def test_a_validated_channel_in_a_flood_arrives_validated_and_counted(
    redis_server: RedisServer, links: list[StoreLink]
) -> None:
    sender = MapObjectStore()
    define_channel("prices", Price, store=sender)
    receiver = MapObjectStore(history_size=100_000)
    define_channel("prices", Price, store=receiver)
    _, link = linked(redis_server, links, "sender", sender, max_queue=100)
    _, receiving = linked(redis_server, links, "receiver", receiver)
    publisher = create_widget_publisher("prices", "price-service", store=sender)
    publisher.publish({"price": 1.0, "n": -1})
    poll_until(lambda: receiver.get("prices") == Price(price=1.0, n=-1), what="the first price")
    for i in range(5_000):
        publisher.publish({"price": i / 2, "n": i})
    poll_until(lambda: receiver.get("prices") == Price(price=4_999 / 2, n=4_999), what="newest")
    poll_until(lambda: idle(link), what="the flood to be over")
    stats = link.stats()
    assert stats["coalesced"] > 0
    assert stats["sent"] + stats["coalesced"] == 2 + 5_000
    assert receiving.stats()["received"] == stats["sent"]
    assert receiving.stats()["rejected"] == 0
    published, gaps = arrived(receiver, "prices", "price-service")
    assert all(isinstance(v, Price) for v in published)
    assert in_publish_order([v.n for v in published])
    assert gaps == stats["coalesced"]


def test_many_producers_in_a_flood_each_keep_their_newest(
    redis_server: RedisServer, links: list[StoreLink]
) -> None:
    sender, link = linked(redis_server, links, "sender", MapObjectStore(), max_queue=100)
    receiver, receiving = linked(redis_server, links, "receiver")
    ids = [(f"ch{i % 3}", f"p{i}") for i in range(300)]

    def everyone_has(value: dict[str, int], upto: int = len(ids)) -> bool:
        return all(receiver.values(ch).get(f"{pid}@sender") == value for ch, pid in ids[:upto])

    producers = []
    for batch in range(0, len(ids), 25):  # registered under max_queue at a time: no flood yet
        for ch, pid in ids[batch : batch + 25]:
            producers.append(sender.register_producer(ch, pid))
            producers[-1].publish({"round": -1})
        upto = batch + 25
        poll_until(lambda: everyone_has({"round": -1}, upto), what="the batch over there")  # noqa: B023
    assert link.stats()["coalesced"] == 0
    for r in range(30):  # 9,000 publishes, 300 producers: far more than max_queue
        for producer in producers:
            producer.publish({"round": r})
    poll_until(lambda: everyone_has({"round": 29}), what="every producer's newest")
    poll_until(lambda: idle(link), what="the flood to be over")
    stats = link.stats()
    assert stats["coalesced"] > 0
    assert stats["sent"] + stats["coalesced"] == 300 * (2 + 30), stats
    poll_until(lambda: receiving.stats()["received"] == stats["sent"], what="all sent, read")
    gaps = 0
    for ch, pid in ids:
        published, skipped = arrived(receiver, ch, pid)
        assert in_publish_order([v["round"] for v in published]), pid
        gaps += skipped
    assert gaps == stats["coalesced"]


def test_an_id_closed_and_registered_again_many_times_in_a_flood(
    redis_server: RedisServer, links: list[StoreLink]
) -> None:
    sender, link = linked(redis_server, links, "sender", MapObjectStore(), max_queue=100)
    receiver, _ = linked(redis_server, links, "receiver")
    seen: list[Any] = []
    receiver.subscribe_events(seen.append)
    steady = sender.register_producer("ticks", "steady")
    steady.publish({"n": -1})
    poll_until(lambda: receiver.get("ticks") == {"n": -1}, what="the first update")
    ops = 2
    for run in range(5):
        svc = sender.register_producer("ticks", "svc")
        for i in range(1_000):
            svc.publish({"run": run, "n": i})
            steady.publish({"n": run * 1_000 + i})
        ops += 1 + 1_000 + 1_000
        if run < 4:
            svc.close()
            ops += 2  # the clear of its value, then the close
    poll_until(
        lambda: (
            receiver.values("ticks")
            == {"svc@sender": {"run": 4, "n": 999}, "steady@sender": {"n": 4_999}}
        ),
        what="the last run's newest value",
    )
    poll_until(lambda: idle(link), what="the flood to be over")
    # A run that lived and closed wholly inside the flood coalesces to its last state,
    # closed: the receiver may never have known it. Every run it knew is closed there, but
    # the last one (no stale producer is left over).
    known = [e for e in seen if e.kind == "registered" and e.producer_id == "svc"]
    closes = [e for e in seen if e.kind == "closed" and e.producer_id == "svc"]
    assert 1 <= len(known) <= 5 and len(closes) == len(known) - 1
    assert {e.process for e in closes + known} == {"sender"}
    assert [p.id for p in receiver.producers("ticks")] == ["steady", "svc"]
    stats = link.stats()
    assert stats["sent"] + stats["coalesced"] == ops, stats
    runs = [v["run"] for v in arrived(receiver, "ticks", "svc")[0]]
    assert in_publish_order(runs) and runs[-1] == 4


def test_a_registration_while_the_queue_is_full_keeps_the_queued_burst_whole(
    redis_server: RedisServer, links: list[StoreLink]
) -> None:
    sender, _ = linked(redis_server, links, "sender", MapObjectStore(), max_queue=50)
    receiver, _ = linked(redis_server, links, "receiver")
    producer = sender.register_producer("ticks", "tick-service")
    producer.publish({"n": 0})
    poll_until(lambda: receiver.get("ticks") == {"n": 0}, what="the first update")
    with stalled(redis_server):
        # the queue keeps 50, whole (and the writer's slice in flight, if it took one
        # before the queue filled); then the sink coalesces
        for i in range(1, 1_001):
            producer.publish({"n": i})
        sender.register_producer("ticks", "newcomer")  # an op the sink still takes when full
    poll_until(lambda: receiver.get("ticks") == {"n": 1_000}, what="the newest value")
    published, gaps = arrived(receiver, "ticks", "tick-service")
    burst = [v["n"] for v in published][:-1]
    assert burst == list(range(len(burst))) and len(burst) >= 1 + 50
    assert published[-1] == {"n": 1_000}
    assert gaps == 1_000 - len(burst)


def test_a_small_queue_leaves_a_flood_too(
    redis_server: RedisServer, links: list[StoreLink]
) -> None:
    sender, link = linked(redis_server, links, "sender", MapObjectStore(), max_queue=5)
    receiver, _ = linked(redis_server, links, "receiver")
    producer = sender.register_producer("ticks", "tick-service")
    for i in range(100):
        producer.publish({"n": i})
    assert link.coalescing
    poll_until(lambda: receiver.get("ticks") == {"n": 99}, what="the newest value")
    poll_until(lambda: not link.coalescing, what="the flood to end")


def test_producers_from_before_the_link_flood_like_any_other(
    redis_server: RedisServer, links: list[StoreLink]
) -> None:
    receiver, receiving = linked(redis_server, links, "receiver")
    sender = MapObjectStore()
    early = sender.register_producer("ticks", "early")
    early.publish({"n": -2})
    quiet = sender.register_producer("ticks", "quiet")
    quiet.publish({"quiet": True})
    _, link = linked(redis_server, links, "sender", sender, max_queue=100)
    poll_until(
        lambda: (
            receiver.values("ticks") == {"early@sender": {"n": -2}, "quiet@sender": {"quiet": True}}
        ),
        what="the values from before the link",
    )
    for i in range(5_000):
        early.publish({"n": i})
    poll_until(lambda: receiver.get("ticks") == {"n": 4_999}, what="the newest value")
    poll_until(lambda: idle(link), what="the flood to be over")
    stats = link.stats()
    assert stats["coalesced"] > 0
    # the state each had when linked counts as one update, then each publish
    assert stats["sent"] + stats["coalesced"] == 2 + 5_000, stats
    assert receiving.stats()["received"] == stats["sent"]
    published, gaps = arrived(receiver, "ticks", "early")
    assert in_publish_order([v["n"] for v in published]) and gaps == stats["coalesced"]
    assert receiver.values("ticks")["quiet@sender"] == {"quiet": True}


def test_an_id_closed_and_registered_again_in_a_stall_behind_a_long_queue(
    redis_server: RedisServer, links: list[StoreLink]
) -> None:
    sender, link = linked(redis_server, links, "sender", MapObjectStore())
    receiver, _ = linked(redis_server, links, "receiver")
    seen: list[Any] = []
    receiver.subscribe_events(seen.append)
    first = sender.register_producer("ticks", "svc")
    first.publish({"run": 1, "n": -1})
    poll_until(lambda: receiver.get("ticks") == {"run": 1, "n": -1}, what="the first run")
    with stalled(redis_server):
        for i in range(600):  # more than one slice: the second run's updates are in the next
            first.publish({"run": 1, "n": i})
        first.close()
        second = sender.register_producer("ticks", "svc")
        second.publish({"run": 2})
    poll_until(lambda: idle(link) and link.status == "connected", what="the link to catch up")
    poll_until(
        lambda: receiver.values("ticks") == {"svc@sender": {"run": 2}},
        what="the second run's value",
    )
    closes = [e for e in seen if e.kind == "closed" and e.producer_id == "svc"]
    assert len(closes) == 1
    published = arrived(receiver, "ticks", "svc")[0]
    assert published[-1] == {"run": 2}
    first_run = [v["n"] for v in published if v["run"] == 1]
    assert in_publish_order(first_run) and first_run[-1] == 599


def test_a_quiet_producers_value_survives_a_redis_restart_for_late_joiners(
    redis_server: RedisServer, links: list[StoreLink]
) -> None:
    sender, link = linked(redis_server, links, "sender", MapObjectStore())
    quiet = sender.register_producer("config", "quiet")
    quiet.publish({"mode": "fast"})
    client = redis_server.client()
    try:
        poll_until(lambda: client.hlen("mapstore:test:{config}:latest"), what="the latest hash")
        redis_server.stop()
        poll_until(lambda: link.status == "disconnected", what="the sender to notice")
        redis_server.start()  # empty: no persistence
        poll_until(lambda: link.status == "connected", what="the sender to reconnect")
        poll_until(lambda: client.zscore("mapstore:test:procs", "sender"), what="re-announced")
    finally:
        client.close()
    joiner, joining = linked(redis_server, links, "joiner")
    assert joining.wait_ready(timeout=10)
    poll_until(lambda: joiner.get("config") == {"mode": "fast"}, what="the value")


def test_a_slow_local_consumer_in_a_flood_never_makes_a_value_arrive_twice(
    redis_server: RedisServer, links: list[StoreLink]
) -> None:
    """A consumer holds the publishing thread, and its channel's lock, in the flood's last publish.

    Meanwhile the producer's state holds the newest value but not yet its number (the sink
    numbers a change after the consumers ran): read then, it would go under the previous
    number, and again under its own once the publish ends. The writer reads a producer's
    newest in each of its rounds (every 20 ms in a flood, or at a resync); the test holds the
    lock until a round has certainly run meanwhile, then lets go: a witness producer on
    another channel is published twice after the hold began, each time once the previous
    value arrived, so the round that sends the second began after the hold, and it reads
    every producer that is behind, the held one too.
    """
    sender, link = linked(redis_server, links, "sender", MapObjectStore(), max_queue=100)
    receiver, receiving = linked(redis_server, links, "receiver")
    last = 4_999
    holding, release = threading.Event(), threading.Event()

    def slow_consumer(update: Any) -> None:
        if update.value == {"n": last}:
            holding.set()
            release.wait()  # no timeout: the test always releases it (`finally`, below)

    sender.register_consumer("ticks", "slow", slow_consumer)
    producer = sender.register_producer("ticks", "ticks")
    witness = sender.register_producer("witness", "witness")
    producer.publish({"n": -1})
    witness.publish({"w": 0})
    poll_until(
        lambda: receiver.get("ticks") == {"n": -1} and receiver.get("witness") == {"w": 0},
        what="the first updates",
    )

    def flood() -> None:
        for i in range(last + 1):
            producer.publish({"n": i})

    publisher = threading.Thread(target=flood)
    publisher.start()
    try:
        poll_until(holding.is_set, what="the consumer to hold the last publish")
        for w in (1, 2):
            witness.publish({"w": w})
            poll_until(lambda: receiver.get("witness") == {"w": w}, what=f"witness {w}")  # noqa: B023
        # nothing read from the state while the change was under way went out
        assert receiver.get("ticks") != {"n": last}
    finally:
        release.set()
        publisher.join()
    poll_until(lambda: receiver.get("ticks") == {"n": last}, what="the newest value")
    ops = (1 + 1 + last + 1) + (1 + 3)  # ticks: reg, -1, the flood; witness: reg, 0, 1, 2
    poll_until(lambda: idle(link) and sum(counted(link)) >= ops, what="the link to account for all")
    stats = link.stats()
    assert stats["coalesced"] > 0  # it was a flood
    assert stats["sent"] + stats["coalesced"] == ops, stats
    poll_until(lambda: receiving.stats()["received"] == stats["sent"], what="all sent, read")
    published, gaps = arrived(receiver, "ticks", "ticks")
    numbers = [v["n"] for v in published]
    repeated_or_backwards = [(a, b) for a, b in itertools.pairwise(numbers) if a >= b]
    assert not repeated_or_backwards  # in order, each once
    assert numbers[0] == -1 and numbers[-1] == last
    assert gaps + arrived(receiver, "witness", "witness")[1] == stats["coalesced"]
