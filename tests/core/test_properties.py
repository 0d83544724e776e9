"""Arbitrary payloads against each widget channel never crash the store, and a rejected
payload never changes its state."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mapstore_core import MapObjectStore, PublishValidationError, create_widget_publisher

json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
cells = st.none() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5)

field_values = {
    "title": st.text(max_size=10) | json_like,
    "content": st.text(max_size=10) | json_like,
    "markdown": st.booleans() | json_like,
    "headers": st.lists(st.text(max_size=5), max_size=3) | json_like,
    "rows": st.lists(st.lists(cells, max_size=3), max_size=3) | json_like,
    "label": st.text(max_size=10) | json_like,
    "value": st.integers() | st.floats() | st.text(max_size=5) | json_like,
    "change": st.none() | st.floats() | json_like,
    "change_type": st.sampled_from(["increase", "decrease", "neutral", "sideways"]) | json_like,
    "extra": json_like,
}

payloads = json_like | st.fixed_dictionaries(
    {}, optional={name: strategy for name, strategy in field_values.items()}
)


def state_of(store: MapObjectStore, channel: str) -> tuple[Any, ...]:
    snapshot = store.snapshot()
    del snapshot["diagnostics"]  # the doctor's words, not state
    return (store.values(channel), store.history(channel), store.channels(), snapshot)


@settings(max_examples=300, deadline=None)
@given(
    channel=st.sampled_from(["paragraph-content", "table-data", "metric-data"]),
    payload=payloads,
)
def test_arbitrary_payloads_never_crash_and_rejections_change_nothing(
    channel: str, payload: Any
) -> None:
    store = MapObjectStore(history_size=3)
    seen: list[Any] = []
    store.register_consumer(channel, "recorder", seen.append)
    publisher = create_widget_publisher(channel, "fuzz-service", store=store)
    before = state_of(store, channel)
    try:
        update = publisher.publish(payload)
    except PublishValidationError as error:
        assert state_of(store, channel) == before
        assert seen == []
        assert channel in str(error) and "fuzz-service" in str(error)
        assert error.fields, "a rejection must name at least one field"
    else:
        assert store.get(channel) == update.value
        assert seen == [update]
        snap = store.snapshot()  # whatever was accepted can be described
        assert snap["seq"] == update.seq > before[3]["seq"]


@settings(max_examples=100, deadline=None)
@given(payload=payloads)
def test_widget_consumer_survives_arbitrary_raw_values(payload: Any) -> None:
    from mapstore_core import create_widget_consumer

    store = MapObjectStore()
    seen: list[Any] = []
    consumer = create_widget_consumer(
        "metric-data", "metric-widget", store=store, callback=seen.append
    )
    raw = store.register_producer("metric-data", "legacy-metrics")
    raw.publish(payload)
    assert len(seen) in (0, 1)
    assert consumer.value is None or consumer.value == seen[-1].value
