from __future__ import annotations

import gc

import pytest

from mapstore_core import (
    MapObjectStore,
    consumer_only,
    create_widget_publisher,
)
from mapstore_core.plumbing import is_non_descriptive

from .helpers import collect_events, here, of_kind


def rules(store: MapObjectStore) -> list[tuple[str, str]]:
    return [(d.rule, d.producer_id) for d in store.diagnostics()]


@pytest.mark.parametrize(
    "producer_id",
    [
        "producer",
        "producer1",
        "temp",
        "tmp",
        "test",
        "foo",
        "bar2",
        "id-3",
        "p",
        "p2",
        "x",
        "X_9",
        "42",
        "3f2b8c1e-9d4a-4c1b-8e2f-1a2b3c4d5e6f",
        "3f2b8c1e9d4a4c1b8e2f1a2b3c4d5e6f",
        "deadbeef",
        "0x1f2e3d",
    ],
)
def test_generic_ids_are_flagged(producer_id: str) -> None:
    assert is_non_descriptive(producer_id)


@pytest.mark.parametrize(
    "producer_id",
    [
        "market-data-service",
        "realtime-service",
        "user-input-form",
        "job-bridge:summarize-1",
        "producer-of-prices",
        "testimonials",
        "facade",
        "bar-chart-feed",
        "p95-latency",
    ],
)
def test_descriptive_ids_are_not(producer_id: str) -> None:
    assert not is_non_descriptive(producer_id)


def test_non_descriptive_id(store: MapObjectStore) -> None:
    events = collect_events(store)
    where = here(1)
    _kept = store.register_producer("prices", "producer1")
    [diag] = store.diagnostics()
    assert (diag.rule, diag.channel, diag.producer_id, diag.where) == (
        "non-descriptive-id",
        "prices",
        "producer1",
        where,
    )
    assert diag.severity == "warning" and diag.hint
    [event] = of_kind(events, "diagnostic")
    assert event.diagnostic == diag


def test_duplicate_source(store: MapObjectStore) -> None:
    handles = [store.register_producer("prices", f"price-feed-{n}") for n in range(2)]
    assert rules(store) == [
        ("duplicate-source", "price-feed-0"),
        ("duplicate-source", "price-feed-1"),
    ]
    handles[1].close()
    assert rules(store) == []


def test_different_sources_on_one_channel_are_fine(store: MapObjectStore) -> None:
    kept = [
        store.register_producer("prices", "rest-service"),
        store.register_producer("prices", "websocket-stream"),
    ]
    assert rules(store) == [] and len(kept) == 2


def test_producer_in_widget(store: MapObjectStore) -> None:
    @consumer_only
    class PriceWidget:
        def on_mount(self) -> None:
            self.producer = store.register_producer("prices", "price-widget-feed")

    class FancyPriceWidget(PriceWidget):
        pass

    widget = FancyPriceWidget()
    widget.on_mount()
    [diag] = store.diagnostics()
    assert diag.rule == "producer-in-widget" and diag.severity == "error"
    assert "FancyPriceWidget" in diag.message


def test_plain_classes_are_not_widgets(store: MapObjectStore) -> None:
    class PriceService:
        def start(self) -> None:
            self.producer = store.register_producer("prices", "price-service")

    service = PriceService()
    service.start()
    assert rules(store) == []


def test_leaked_producer_event_arrives_with_next_evaluation(store: MapObjectStore) -> None:
    events = collect_events(store)
    store.register_producer("prices", "price-feed").publish(1)  # handle dropped at once
    gc.collect()
    _kept = store.register_producer("other", "other-service")  # any registration re-evaluates
    assert [e.diagnostic.rule for e in of_kind(events, "diagnostic")] == ["leaked-producer"]


def test_registration_churn(store: MapObjectStore, clock) -> None:
    def render() -> None:
        p = store.register_producer("prices", "render-feed")
        p.close()

    for _ in range(9):
        render()
        clock.advance(0.01)
    assert rules(store) == []
    render()
    [diag] = store.diagnostics()
    assert diag.rule == "registration-churn" and diag.producer_id == "render-feed"
    assert "10 producers within 1 s" in diag.message


def test_slow_reregistration_is_not_churn(store: MapObjectStore, clock) -> None:
    for _ in range(20):
        store.register_producer("prices", "price-feed").close()
        clock.advance(0.5)
    assert rules(store) == []


def test_unvalidated_publish(store: MapObjectStore) -> None:
    events = collect_events(store)
    legacy = store.register_producer("metric-data", "legacy-metrics")
    assert rules(store) == []  # registered, not yet publishing
    legacy.publish({"label": "x", "value": 1})
    assert rules(store) == [("unvalidated-publish", "legacy-metrics")]
    assert [e.diagnostic.rule for e in of_kind(events, "diagnostic")] == ["unvalidated-publish"]
    validated = create_widget_publisher("metric-data", "metrics-service", store=store)
    validated.publish({"label": "x", "value": 1})
    assert rules(store) == [("unvalidated-publish", "legacy-metrics")]


def test_raw_publish_on_a_raw_channel_is_fine(store: MapObjectStore) -> None:
    kept = store.register_producer("prices", "price-feed")
    kept.publish(1)
    assert rules(store) == []


def test_diagnostic_event_is_emitted_once_per_finding(store: MapObjectStore) -> None:
    events = collect_events(store)
    _kept = store.register_producer("prices", "tmp")
    store.diagnostics()
    store.diagnostics()
    assert len(of_kind(events, "diagnostic")) == 1


def test_duplicate_source_events_as_a_group_grows_shrinks_and_grows_again(
    store: MapObjectStore,
) -> None:
    """Registration evaluates only the new producer and its call site's group (O(1))."""
    events = collect_events(store)

    def register(n: int):  # one call site for every producer
        return store.register_producer("prices", f"price-feed-{n}")

    first = register(0)
    assert of_kind(events, "diagnostic") == []
    second = register(1)  # the group forms: both are reported
    assert [e.producer_id for e in of_kind(events, "diagnostic")] == [
        "price-feed-0",
        "price-feed-1",
    ]
    third = register(2)  # only the newcomer is new
    assert [e.producer_id for e in of_kind(events, "diagnostic")][2:] == ["price-feed-2"]
    second.close()
    third.close()  # the group is back to one: no finding left
    assert rules(store) == []
    again = register(3)  # a duplicate again: both reported again
    assert [e.producer_id for e in of_kind(events, "diagnostic")][3:] == [
        "price-feed-0",
        "price-feed-3",
    ]
    assert rules(store) == [
        ("duplicate-source", "price-feed-0"),
        ("duplicate-source", "price-feed-3"),
    ]
    first.close()
    again.close()


def test_a_big_duplicate_group_names_five_ids_and_counts_the_rest(
    store: MapObjectStore,
) -> None:
    handles = [store.register_producer("prices", f"price-feed-{n}") for n in range(8)]
    found = store.diagnostics()
    assert len(found) == 8
    assert found[0].message == (
        "8 open producers on 'prices' come from one source ('price-feed-0', 'price-feed-1', "
        "'price-feed-2', 'price-feed-3', 'price-feed-4', … and 3 more)"
    )
    assert store.diagnostics() == found  # unchanged store: the same findings
    handles[7].close()
    assert len(store.diagnostics()) == 7  # a change is seen at once
    for handle in handles[:7]:
        handle.close()
