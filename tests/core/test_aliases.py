"""Widget models speak both snake_case and camelCase, and point out near misses."""

from __future__ import annotations

import pytest

from mapstore_core import (
    MapObjectStore,
    MetricData,
    PublishValidationError,
    TableData,
    create_widget_consumer,
    create_widget_publisher,
)
from mapstore_core.plumbing import StoreReader


def test_camel_case_fields_are_accepted_and_dumped_snake_case(store: MapObjectStore) -> None:
    pub = create_widget_publisher("metric-data", "realtime-service", store=store)
    update = pub.publish({"label": "Users", "value": 3, "change": 1.0, "changeType": "increase"})
    assert update.value == MetricData(label="Users", value=3, change=1.0, change_type="increase")
    assert update.value.model_dump()["change_type"] == "increase"
    assert update.value.model_dump(by_alias=True)["changeType"] == "increase"
    snapshot_value = store.snapshot()["values"]["metric-data"]["realtime-service"]
    assert "change_type" in snapshot_value and "changeType" not in snapshot_value


def test_raw_camel_case_payload_converts_for_a_widget_consumer(store: MapObjectStore) -> None:
    consumer = create_widget_consumer("metric-data", "users-card", store=store)
    store.register_producer("metric-data", "js-bridge").publish(
        {"label": "Users", "value": 3, "changeType": "decrease"}
    )
    assert consumer.value is not None and consumer.value.change_type == "decrease"


@pytest.mark.parametrize("typo", ["changeTyp", "change-type", "changetype", "chnage_type"])
def test_a_near_miss_of_a_field_gets_a_hint(store: MapObjectStore, typo: str) -> None:
    pub = create_widget_publisher("metric-data", "realtime-service", store=store)
    with pytest.raises(PublishValidationError) as info:
        pub.publish({"label": "Users", "value": 3, typo: "increase"})
    assert info.value.problems == {
        typo: "Extra inputs are not permitted (did you mean `change_type`?)"
    }


def test_an_unrelated_unknown_field_gets_no_guess(store: MapObjectStore) -> None:
    pub = create_widget_publisher("table-data", "market-data-service", store=store)
    with pytest.raises(PublishValidationError) as info:
        pub.publish({"title": "t", "headers": [], "rows": [], "colour": "red"})
    assert info.value.problems == {"colour": "Extra inputs are not permitted"}


def test_errors_name_fields_as_documented(store: MapObjectStore) -> None:
    pub = create_widget_publisher("metric-data", "realtime-service", store=store)
    with pytest.raises(PublishValidationError) as info:
        pub.publish({"label": "Users", "value": 3, "changeType": "sideways"})
    assert list(info.value.problems) == ["change_type"]


def test_schema_lists_field_names(store: MapObjectStore) -> None:
    schema = StoreReader(store).schema("metric-data")
    assert schema is not None and "change_type" in schema["properties"]
    assert TableData.model_json_schema(by_alias=False)["required"] == ["title", "headers", "rows"]


def test_dry_run_on_an_unknown_channel_says_nobody_would_receive_it(
    store: MapObjectStore,
) -> None:
    store.get("metric-dta")  # reading a channel does not make it exist
    result = store.dry_run("metric-dta", {"label": "x", "value": 1})
    assert result["valid"] is False and result["exists"] is False
    assert result["receivers"] == []
    assert "does not exist" in result["problems"]["(channel)"]
    assert "nobody would receive" in result["problems"]["(channel)"]
    known = store.dry_run("metric-data", {"label": "x", "value": 1})
    assert known["valid"] is True and known["exists"] is True
