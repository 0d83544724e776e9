"""The feed costs publishers nothing between two redraws, and loses no notable event."""

from __future__ import annotations

from mapstore_core import MapObjectStore
from mapstore_tui.feed import PanelFeed
from mapstore_tui.view import LocalStoreView


def test_one_wake_per_batch_and_publishes_only_arm_once() -> None:
    store = MapObjectStore()
    wakes: list[int] = []
    feed = PanelFeed(LocalStoreView(store), lambda: wakes.append(1))
    feed.start()
    producer = store.register_producer("ticks", "tick-source")
    for value in range(1_000):
        producer.publish(value)
    assert len(wakes) == 1  # the registration woke it; publishes found it pending
    assert not feed.armed  # a publish disarmed the publish listener: no more cost
    batch = feed.drain()
    assert [e.kind for e in batch.notable] == ["registered"]
    assert feed.armed
    producer.publish(1_000)
    assert len(wakes) == 2 and not feed.armed
    feed.drain()
    feed.stop()
    producer.publish(1_001)
    assert len(wakes) == 2


def test_bounded_buffer_counts_what_it_dropped() -> None:
    store = MapObjectStore()
    every: list[object] = []
    store.subscribe_events(every.append)
    feed = PanelFeed(LocalStoreView(store), lambda: None, keep_notable=3)
    feed.start()
    handles = [store.register_producer("ch", f"source-{n}-service") for n in range(5)]
    batch = feed.drain()
    assert batch.notable == every[-3:]  # the newest are kept
    assert batch.dropped == len(every) - 3 > 0
    assert len(handles) == 5
