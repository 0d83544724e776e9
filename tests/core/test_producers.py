from __future__ import annotations

import gc

import pytest

from mapstore_core import (
    MapObjectStore,
    ProducerAlreadyRegistered,
    ProducerClosed,
    map_store,
)

from .helpers import collect_events, here, of_kind


def test_publish_stores_value_under_channel_and_producer(store: MapObjectStore) -> None:
    p = store.register_producer("paragraph-content", "summary-service")
    p.publish({"title": "T", "content": "..."})
    assert store.values("paragraph-content") == {
        "summary-service": {"title": "T", "content": "..."}
    }
    assert store.get("paragraph-content") == {"title": "T", "content": "..."}
    assert (p.id, p.channel, p.kind) == ("summary-service", "paragraph-content", "producer")


def test_registered_at_is_the_callers_line(store: MapObjectStore) -> None:
    where = here(1)
    p = store.register_producer("prices", "price-feed")
    assert p.registered_at == where
    assert store.producers("prices")[0].registered_at == where


def test_registered_at_is_relative_to_cwd(store: MapObjectStore, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # this test file is no longer under the cwd
    p = store.register_producer("prices", "price-feed")
    assert p.registered_at.startswith("/")
    assert p.registered_at.endswith("test_producers.py:" + p.registered_at.rsplit(":", 1)[1])


def test_duplicate_registration_names_channel_id_and_first_location(
    store: MapObjectStore,
) -> None:
    first_at = here(1)
    store.register_producer("prices", "price-feed")
    with pytest.raises(ProducerAlreadyRegistered) as info:
        store.register_producer("prices", "price-feed")
    message = str(info.value)
    assert "'price-feed'" in message and "'prices'" in message and first_at in message
    assert info.value.first_registered_at == first_at


def test_same_id_on_another_channel_is_fine(store: MapObjectStore) -> None:
    store.register_producer("a", "service")
    store.register_producer("b", "service")
    assert [p.channel for p in store.producers()] == ["a", "b"]


def test_closed_id_can_be_registered_again(store: MapObjectStore) -> None:
    p = store.register_producer("prices", "price-feed")
    p.close()
    again = store.register_producer("prices", "price-feed")
    again.publish(1)
    assert store.values("prices") == {"price-feed": 1}


def test_publish_on_closed_producer_raises(store: MapObjectStore) -> None:
    p = store.register_producer("prices", "price-feed")
    p.close()
    with pytest.raises(ProducerClosed, match=r"'price-feed'.*'prices'"):
        p.publish(1)
    with pytest.raises(ProducerClosed):
        p.clear()


def test_clear_removes_value_but_keeps_registration(store: MapObjectStore) -> None:
    p = store.register_producer("prices", "price-feed")
    p.publish(3)
    update = p.clear()
    assert update is not None and update.kind == "cleared" and update.value is None
    assert store.values("prices") == {}
    assert [i.id for i in store.producers("prices")] == ["price-feed"]
    assert store.producers("prices")[0].has_value is False


def test_clear_without_value_is_a_noop(store: MapObjectStore) -> None:
    p = store.register_producer("prices", "price-feed")
    seen = []
    store.register_consumer("prices", "price-widget", seen.append)
    assert p.clear() is None
    assert seen == [] and store.history("prices") == []


def test_close_clears_unregisters_and_is_idempotent(store: MapObjectStore) -> None:
    events = collect_events(store)
    p = store.register_producer("prices", "price-feed")
    p.publish(1)
    p.close()
    p.close()
    assert store.producers("prices") == [] and store.values("prices") == {}
    assert [h.kind for h in store.history("prices")] == ["published", "cleared"]
    assert len(of_kind(events, "closed")) == 1
    assert p.closed


def test_producer_is_a_context_manager(store: MapObjectStore) -> None:
    with store.register_producer("prices", "price-feed") as p:
        p.publish(1)
    assert p.closed and store.producers() == []


def test_value_falls_back_when_newest_producer_clears(store: MapObjectStore) -> None:
    a = store.register_producer("status", "rest-service")
    b = store.register_producer("status", "websocket-stream")
    a.publish("from rest")
    b.publish("from stream")
    assert store.get("status") == "from stream"
    b.clear()
    assert store.get("status") == "from rest"
    a.clear()
    assert store.get("status") is None


def test_values_are_in_registration_order(store: MapObjectStore) -> None:
    a = store.register_producer("status", "rest-service")
    b = store.register_producer("status", "websocket-stream")
    b.publish(2)
    a.publish(1)
    assert list(store.values("status")) == ["rest-service", "websocket-stream"]


def test_history_is_bounded_per_channel_and_oldest_first(store: MapObjectStore) -> None:
    p = store.register_producer("ticks", "tick-source")
    q = store.register_producer("other", "other-source")
    for n in range(8):
        p.publish(n)
    q.publish("x")
    assert [u.value for u in store.history("ticks")] == [3, 4, 5, 6, 7]
    assert [u.value for u in store.history("other")] == ["x"]
    seqs = [u.seq for u in store.history("ticks")]
    assert seqs == sorted(seqs)


def test_zero_history_keeps_nothing() -> None:
    store = MapObjectStore(history_size=0)
    store.register_producer("ticks", "tick-source").publish(1)
    assert store.history("ticks") == [] and store.get("ticks") == 1


def test_invalid_arguments_are_refused(store: MapObjectStore) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        store.register_producer("", "x-service")
    with pytest.raises(ValueError, match="non-empty"):
        store.register_producer("prices", "  ")
    with pytest.raises(ValueError, match="history_size"):
        MapObjectStore(history_size=-1)


def test_channels_describe_counts_and_last_update(store: MapObjectStore, clock) -> None:
    p = store.register_producer("prices", "price-feed")
    store.register_consumer("prices", "price-widget")
    clock.advance(5)
    p.publish(1)
    p.publish(2)
    info = {c.name: c for c in store.channels()}
    assert info["prices"].producer_count == 1
    assert info["prices"].consumer_count == 1
    assert info["prices"].publish_count == 2
    assert info["prices"].last_update == clock.now
    assert info["prices"].schema is None
    assert info["table-data"].schema == "TableData"


def test_producer_info_tracks_publishes(store: MapObjectStore, clock) -> None:
    p = store.register_producer("prices", "price-feed")
    [info] = store.producers()
    assert (info.publish_count, info.last_publish, info.has_value) == (0, None, False)
    clock.advance(1)
    p.publish(1)
    [info] = store.producers()
    assert (info.publish_count, info.last_publish, info.has_value) == (1, clock.now, True)
    assert info.leaked is False and info.validated is False and info.kind == "producer"


def test_dropped_producer_keeps_its_value_and_is_reported_leaked(
    store: MapObjectStore,
) -> None:
    events = collect_events(store)
    p = store.register_producer("prices", "price-feed")
    p.publish(42)
    del p
    gc.collect()
    assert store.get("prices") == 42
    [info] = store.producers()
    # The collector's callback only notes it (it may run inside any lock); reading reports
    # nothing new, so the leak shows from the store's next change on.
    assert info.leaked is False and of_kind(events, "leaked") == []
    store.register_producer("news", "news-service").publish("hello")
    [info, _] = store.producers()
    assert info.leaked is True
    [diag] = [d for d in store.diagnostics() if d.rule == "leaked-producer"]
    assert diag.producer_id == "price-feed"
    assert [e.diagnostic.rule for e in of_kind(events, "diagnostic")] == ["leaked-producer"]


def test_closed_then_dropped_producer_is_not_leaked(store: MapObjectStore) -> None:
    p = store.register_producer("prices", "price-feed")
    p.close()
    del p
    gc.collect()
    assert store.diagnostics() == []


def test_default_store_is_shared() -> None:
    p = map_store.register_producer("test-default-store-channel", "default-store-check")
    try:
        assert map_store.producers("test-default-store-channel")[0].id == "default-store-check"
    finally:
        p.close()
