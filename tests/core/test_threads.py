"""Concurrency contract: any thread publishes, nothing is lost, per-producer order holds."""

from __future__ import annotations

import threading
from collections import defaultdict

from mapstore_core import ChannelUpdate, MapObjectStore

THREADS = 8
PER_THREAD = 2_000


def test_eight_threads_publishing_lose_nothing_and_keep_order() -> None:
    store = MapObjectStore(history_size=50)
    received: dict[str, list[int]] = defaultdict(list)
    seqs: list[int] = []
    lock = threading.Lock()

    def on_update(update: ChannelUpdate) -> None:
        with lock:
            received[update.producer_id].append(update.value)
            seqs.append(update.seq)

    store.register_consumer("ticks", "tick-counter", callback=on_update)
    producers = [store.register_producer("ticks", f"tick-source-{n}") for n in range(THREADS)]
    start = threading.Barrier(THREADS)

    def run(index: int) -> None:
        start.wait()
        for value in range(PER_THREAD):
            producers[index].publish(value)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert {pid: values for pid, values in received.items()} == {
        f"tick-source-{n}": list(range(PER_THREAD)) for n in range(THREADS)
    }
    assert len(set(seqs)) == THREADS * PER_THREAD
    assert seqs == sorted(seqs)  # one channel: delivered in seq order
    assert len(store.history("ticks")) == 50
    [channel] = [c for c in store.channels() if c.name == "ticks"]
    assert channel.publish_count == THREADS * PER_THREAD
    assert sum(p.publish_count for p in store.producers("ticks")) == THREADS * PER_THREAD
    assert store.values("ticks") == {f"tick-source-{n}": PER_THREAD - 1 for n in range(THREADS)}


def test_threads_on_separate_channels_and_registration_races() -> None:
    store = MapObjectStore()
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            for round_ in range(50):
                with store.register_producer(f"channel-{index % 3}", f"source-{index}") as p:
                    p.publish(round_)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.producers() == []
    assert sum(c.publish_count for c in store.channels()) == THREADS * 50
