from __future__ import annotations

import gc
import logging

import pytest

from mapstore_core import ChannelUpdate, ConsumerClosed, MapObjectStore

from .helpers import collect_events, here, of_kind


def test_callback_gets_channel_updates(store: MapObjectStore, clock) -> None:
    seen: list[ChannelUpdate] = []
    store.register_consumer("prices", "price-widget", callback=seen.append)
    p = store.register_producer("prices", "price-feed")
    p.publish(1)
    p.clear()
    assert [(u.channel, u.producer_id, u.kind, u.value) for u in seen] == [
        ("prices", "price-feed", "published", 1),
        ("prices", "price-feed", "cleared", None),
    ]
    assert seen[0].seq < seen[1].seq
    assert seen[0].timestamp == clock.now


def test_consumer_reads_value_and_values(store: MapObjectStore) -> None:
    c = store.register_consumer("prices", "price-widget")
    assert c.value is None and c.values == {}
    store.register_producer("prices", "price-feed").publish(7)
    assert c.value == 7 and c.values == {"price-feed": 7}
    assert c.registered_at == store.consumers("prices")[0].registered_at


def test_consumer_records_registered_at(store: MapObjectStore) -> None:
    where = here(1)
    c = store.register_consumer("prices", "price-widget")
    assert c.registered_at == where


def test_subscribe_returns_unsubscribe(store: MapObjectStore) -> None:
    c = store.register_consumer("prices", "price-widget")
    seen: list[ChannelUpdate] = []
    unsubscribe = c.subscribe(seen.append)
    p = store.register_producer("prices", "price-feed")
    p.publish(1)
    unsubscribe()
    unsubscribe()
    p.publish(2)
    assert [u.value for u in seen] == [1]


def test_dropping_consumer_handle_does_not_unsubscribe(store: MapObjectStore) -> None:
    seen: list[ChannelUpdate] = []
    store.register_consumer("prices", "price-widget", callback=seen.append)
    gc.collect()
    store.register_producer("prices", "price-feed").publish(1)
    assert len(seen) == 1


def test_close_stops_delivery(store: MapObjectStore) -> None:
    seen: list[ChannelUpdate] = []
    c = store.register_consumer("prices", "price-widget", callback=seen.append)
    c.close()
    c.close()
    store.register_producer("prices", "price-feed").publish(1)
    assert seen == [] and store.consumers("prices") == []
    with pytest.raises(ConsumerClosed, match=r"'price-widget'.*closed"):
        c.subscribe(seen.append)


def test_failing_consumer_does_not_stop_others_or_publisher(store: MapObjectStore, caplog) -> None:
    events = collect_events(store)
    seen: list[int] = []

    def broken(update: ChannelUpdate) -> None:
        raise RuntimeError("widget exploded")

    store.register_consumer("prices", "first-widget", callback=seen.append)
    store.register_consumer("prices", "broken-widget", callback=broken)
    store.register_consumer("prices", "last-widget", callback=seen.append)
    p = store.register_producer("prices", "price-feed")
    with caplog.at_level(logging.ERROR, logger="mapstore_core"):
        update = p.publish(1)
    assert seen == [update, update]
    [event] = of_kind(events, "consumer_error")
    assert event.consumer_id == "broken-widget"
    assert event.channel == "prices" and event.producer_id == "price-feed"
    assert "RuntimeError: widget exploded" in event.traceback
    assert event.message == "RuntimeError: widget exploded"
    errors = {c.id: c.errors for c in store.consumers("prices")}
    assert errors == {"first-widget": 0, "broken-widget": 1, "last-widget": 0}
    assert "broken-widget" in caplog.text and "widget exploded" in caplog.text


def test_consumer_info_counts_deliveries(store: MapObjectStore) -> None:
    store.register_consumer("prices", "price-widget", callback=lambda u: None)
    store.register_consumer("prices", "idle-widget")
    p = store.register_producer("prices", "price-feed")
    p.publish(1)
    p.publish(2)
    info = {c.id: c for c in store.consumers()}
    assert info["price-widget"].delivered == 2 and info["price-widget"].subscribers == 1
    assert info["idle-widget"].delivered == 0 and info["idle-widget"].subscribers == 0


def test_callback_may_publish_on_another_channel(store: MapObjectStore) -> None:
    doubled = store.register_producer("doubled", "doubler-service")
    store.register_consumer("numbers", "doubler", callback=lambda u: doubled.publish(u.value * 2))
    store.register_producer("numbers", "number-source").publish(21)
    assert store.get("doubled") == 42


def test_callback_may_register_a_producer(store: MapObjectStore) -> None:
    created = []
    store.register_consumer(
        "requests",
        "handler",
        callback=lambda u: created.append(store.register_producer("replies", f"reply-{u.seq}")),
    )
    store.register_producer("requests", "request-source").publish("go")
    assert [p.channel for p in created] == ["replies"]


def test_event_listener_failure_is_logged_not_raised(store: MapObjectStore, caplog) -> None:
    def broken(event: object) -> None:
        raise RuntimeError("listener bug")

    store.subscribe_events(broken)
    with caplog.at_level(logging.ERROR, logger="mapstore_core"):
        store.register_producer("prices", "price-feed").publish(1)
    assert store.get("prices") == 1
    assert "listener bug" in caplog.text


def test_subscribe_events_unsubscribe(store: MapObjectStore) -> None:
    seen: list[object] = []
    unsubscribe = store.subscribe_events(seen.append)
    store.register_producer("a", "a-service")
    unsubscribe()
    store.register_producer("b", "b-service")
    assert len(seen) == 1


def test_event_kinds_cover_the_lifecycle(store: MapObjectStore) -> None:
    events = collect_events(store)
    c = store.register_consumer("prices", "price-widget")
    p = store.register_producer("prices", "price-feed")
    p.publish(1)
    p.clear()
    p.close()
    c.close()
    assert [e.kind for e in events] == [
        "consumer_registered",
        "registered",
        "published",
        "cleared",
        "closed",
        "consumer_closed",
    ]
    published = events[2]
    assert published.update is not None and published.update.value == 1
    assert published.channel == "prices" and published.producer_id == "price-feed"
    assert events[1].where == p.registered_at


def test_subscribe_events_to_some_kinds_only(store: MapObjectStore) -> None:
    seen: list[str] = []
    store.subscribe_events(lambda e: seen.append(e.kind), kinds=["registered", "closed"])
    p = store.register_producer("prices", "price-feed")
    p.publish(1)
    p.close()
    assert seen == ["registered", "closed"]
    with pytest.raises(ValueError, match="unknown event kinds: publish"):
        store.subscribe_events(print, kinds=["publish"])


def test_published_events_carry_every_field(store: MapObjectStore) -> None:
    from mapstore_core import StoreEvent

    events = collect_events(store)
    store.register_producer("prices", "price-feed").publish(1)
    published = of_kind(events, "published")[0]
    assert len(published) == len(StoreEvent._fields)
    assert published.diagnostic is None and published.where is None


def test_the_newest_value_follows_publishes_and_clears_in_any_order() -> None:
    """get() and consumer.value read the newest holder directly (no scan): check the order."""
    store = MapObjectStore()
    a, b, c = (store.register_producer("prices", f"{name}-feed") for name in "abc")
    consumer = store.register_consumer("prices", "price-widget")
    a.publish(1)
    b.publish(2)
    c.publish(3)
    a.publish(4)  # a republishes: it is the newest again
    assert store.get("prices") == consumer.value == 4
    a.clear()
    assert store.get("prices") == 3
    c.close()
    assert store.get("prices") == 2
    b.clear()
    assert store.get("prices") is None and consumer.value is None
    c2 = store.register_producer("prices", "c-feed")
    c2.publish(5)
    b.publish(6)
    assert store.get("prices") == 6 and store.values("prices") == {"b-feed": 6, "c-feed": 5}
