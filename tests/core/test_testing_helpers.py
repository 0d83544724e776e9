from __future__ import annotations

import pytest

from mapstore_core import MapObjectStore, create_widget_publisher
from mapstore_core.testing import ANY, UpdateRecorder, assert_published, record


def test_record_and_assert_published(store: MapObjectStore) -> None:
    pub = create_widget_publisher("metric-data", "realtime-service", store=store)
    with record("metric-data", store=store) as rec:
        pub.publish({"label": "Users", "value": 3})
    pub.publish({"label": "Users", "value": 4})  # after the block: not recorded
    rec.assert_published({"label": "Users", "value": 3, "change": None, "change_type": "neutral"})
    rec.assert_published(producer_id="realtime-service", count=1)
    assert [v.value for v in rec.values] == [3]
    assert store.consumers() == []  # the recorder's consumer was closed


def test_assert_published_failure_lists_what_was_published(store: MapObjectStore) -> None:
    p = store.register_producer("prices", "price-feed")
    with record("prices", store=store) as rec:
        p.publish(1)
        p.publish(2)
    with pytest.raises(AssertionError) as info:
        rec.assert_published(3, producer_id="price-feed")
    assert str(info.value) == (
        "expected a publish from 'price-feed' with value 3 on channel 'prices'; "
        "there were 2 publishes:\n"
        "  seq 4 from 'price-feed': 1\n"  # after the registration and the recorder's consumer
        "  seq 5 from 'price-feed': 2"
    )


def test_count_mismatch_message(store: MapObjectStore) -> None:
    rec = UpdateRecorder("prices")
    store.register_consumer("prices", "rec", rec)
    p = store.register_producer("prices", "price-feed")
    p.publish(1)
    with pytest.raises(
        AssertionError, match=r"exactly 2 publish\(es\) on channel 'prices' \(matching: 1\)"
    ):
        rec.assert_published(count=2)


def test_assert_nothing_published(store: MapObjectStore) -> None:
    rec = UpdateRecorder()
    rec.assert_nothing_published()
    store.register_consumer("prices", "rec", rec)
    store.register_producer("prices", "price-feed").publish(5)
    with pytest.raises(AssertionError, match=r"expected no publish on the recorder; there were 1"):
        rec.assert_nothing_published()


def test_store_level_assert_published(store: MapObjectStore) -> None:
    p = store.register_producer("prices", "price-feed")
    p.publish({"px": 1})
    update = assert_published(store, "prices", {"px": 1}, producer_id="price-feed")
    assert update.seq == 2  # the registration was change 1
    assert assert_published(store, "prices", ANY).value == {"px": 1}
    with pytest.raises(AssertionError, match="there were no publishes"):
        assert_published(store, "empty-channel")
