from __future__ import annotations

import math

import pytest
from pydantic import BaseModel

from mapstore_core import (
    ChannelNotDefined,
    ChannelSchemaConflict,
    MapObjectStore,
    MetricData,
    ParagraphContent,
    PublishValidationError,
    TableData,
    WidgetChannels,
    create_widget_consumer,
    create_widget_publisher,
    define_channel,
)

from .helpers import collect_events, here, of_kind


def test_widget_channel_names() -> None:
    assert WidgetChannels.PARAGRAPH_CONTENT == "paragraph-content"
    assert WidgetChannels.TABLE_DATA == "table-data"
    assert WidgetChannels.METRIC_DATA == "metric-data"


def test_every_store_defines_the_widget_channels(store: MapObjectStore) -> None:
    assert store.schema(WidgetChannels.PARAGRAPH_CONTENT) is ParagraphContent
    assert store.schema("table-data") is TableData
    assert store.schema("metric-data") is MetricData


def test_models_defaults_and_docstrings() -> None:
    assert ParagraphContent(title="T", content="c").markdown is False
    metric = MetricData(label="Users", value=3)
    assert metric.change is None and metric.change_type == "neutral"
    for model in (ParagraphContent, TableData, MetricData):
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no docstring"


def test_validated_publish_stores_model_instance(store: MapObjectStore) -> None:
    pub = create_widget_publisher(WidgetChannels.TABLE_DATA, "market-data-service", store=store)
    pub.publish({"title": "Prices", "headers": ["Sym", "Px"], "rows": [["ACME", 1.5]]})
    value = store.get("table-data")
    assert isinstance(value, TableData) and value.rows == [["ACME", 1.5]]
    pub.publish(TableData(title="Prices", headers=["Sym"], rows=[["X"]]))
    assert store.get("table-data").headers == ["Sym"]
    assert pub.kind == "producer" and pub.model is TableData


def test_publisher_registered_at_is_the_users_line(store: MapObjectStore) -> None:
    where = here(1)
    pub = create_widget_publisher("metric-data", "realtime-service", store=store)
    assert pub.registered_at == where


def test_invalid_payload_is_rejected_and_nothing_changes(store: MapObjectStore) -> None:
    events = collect_events(store)
    pub = create_widget_publisher(WidgetChannels.METRIC_DATA, "polling-service", store=store)
    seen = []
    store.register_consumer("metric-data", "metric-widget", seen.append)
    good = pub.publish({"label": "CPU", "value": 0.5})
    with pytest.raises(PublishValidationError) as info:
        pub.publish({"label": "CPU", "value": [1], "change_type": "sideways"})
    error = info.value
    assert isinstance(error, ValueError)
    message = str(error)
    assert "'metric-data'" in message and "'polling-service'" in message
    assert "value" in error.fields and "change_type" in error.fields
    assert "change_type" in message and pub.registered_at in message
    assert error.__cause__ is not None  # raised from pydantic's ValidationError
    assert store.get("metric-data") == good.value
    assert store.history("metric-data") == [good]
    assert seen == [good]
    [failed] = of_kind(events, "validation_failed")
    assert failed.channel == "metric-data" and failed.producer_id == "polling-service"
    assert "change_type" in failed.message
    assert failed.problems == error.problems  # the failing fields travel as data too


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
def test_nan_and_infinity_are_refused_naming_the_field(
    store: MapObjectStore, number: float
) -> None:
    """JSON cannot carry them (the panel and the Redis link speak JSON); no widget draws them."""
    events = collect_events(store)
    metric = create_widget_publisher(WidgetChannels.METRIC_DATA, "polling-service", store=store)
    good = metric.publish({"label": "Latency", "value": 12.5, "change": -0.5})
    for payload, field in (
        ({"label": "Latency", "value": number}, "value"),
        ({"label": "Latency", "value": 1, "change": number}, "change"),
    ):
        with pytest.raises(PublishValidationError) as info:
            metric.publish(payload)
        assert list(info.value.fields) == [field]
        assert "finite number" in info.value.problems[field]
    assert store.get("metric-data") == good.value and store.history("metric-data") == [good]
    assert len(of_kind(events, "validation_failed")) == 2
    table = create_widget_publisher(WidgetChannels.TABLE_DATA, "market-data-service", store=store)
    with pytest.raises(PublishValidationError) as info:
        table.publish({"title": "Prices", "headers": ["Symbol", "Price"], "rows": [["A", number]]})
    assert list(info.value.fields) == ["rows.0.1"]
    # a preformatted string stays a string; a string that parses to one in a float is refused
    assert metric.publish({"label": "Latency", "value": "NaN"}).value.value == "NaN"
    with pytest.raises(PublishValidationError, match="change"):
        metric.publish({"label": "Latency", "value": 1, "change": "inf"})


def test_a_widget_consumer_skips_a_raw_nan(store: MapObjectStore) -> None:
    """The legacy path stores it as given; a widget consumer is never handed it."""
    events = collect_events(store)
    seen = []
    con = create_widget_consumer("metric-data", "metric-widget", store=store, callback=seen.append)
    legacy = store.register_producer("metric-data", "legacy-adapter")
    legacy.publish({"label": "Latency", "value": 3.0})
    legacy.publish({"label": "Latency", "value": math.nan})
    assert [u.value.value for u in seen] == [3.0]
    [failed] = of_kind(events, "validation_failed")
    assert failed.consumer_id == "metric-widget" and "value" in failed.problems
    assert con.value is None  # the newest value does not validate


def test_table_rows_must_match_headers() -> None:
    with pytest.raises(ValueError, match="row 1 has 1 cell but the table has 2 headers"):
        TableData(title="t", headers=["a", "b"], rows=[["x", 1], ["y"]])


def test_unknown_fields_are_rejected(store: MapObjectStore) -> None:
    pub = create_widget_publisher("paragraph-content", "summary-service", store=store)
    with pytest.raises(PublishValidationError) as info:
        pub.publish({"title": "T", "contnet": "typo"})
    assert set(info.value.fields) == {"content", "contnet"}


def test_publisher_needs_a_defined_channel(store: MapObjectStore) -> None:
    with pytest.raises(ChannelNotDefined, match="define_channel\\('orders'"):
        create_widget_publisher("orders", "orders-service", store=store)


def test_define_channel_for_users_models(store: MapObjectStore) -> None:
    class Order(BaseModel):
        sku: str
        qty: int

    assert define_channel("orders", Order, store=store) == "orders"
    assert define_channel("orders", Order, store=store) == "orders"  # idempotent
    pub = create_widget_publisher("orders", "orders-service", store=store)
    pub.publish({"sku": "A1", "qty": "3"})
    assert store.get("orders") == Order(sku="A1", qty=3)
    with pytest.raises(PublishValidationError, match="qty"):
        pub.publish({"sku": "A1", "qty": "many"})
    assert store.channels()[-1].schema == "Order"


def test_define_channel_conflicts_and_bad_models(store: MapObjectStore) -> None:
    class Other(BaseModel):
        x: int

    with pytest.raises(ChannelSchemaConflict, match="TableData"):
        define_channel("table-data", Other, store=store)
    with pytest.raises(TypeError):
        define_channel("plain", dict, store=store)  # type: ignore[arg-type]


def test_widget_consumer_gets_models(store: MapObjectStore) -> None:
    seen = []
    con = create_widget_consumer(
        WidgetChannels.METRIC_DATA, "metric-widget", store=store, callback=seen.append
    )
    pub = create_widget_publisher(WidgetChannels.METRIC_DATA, "realtime-service", store=store)
    pub.publish({"label": "Users", "value": 10, "change": 2.0, "change_type": "increase"})
    assert isinstance(con.value, MetricData) and con.value.value == 10
    assert isinstance(seen[0].value, MetricData)
    pub.clear()
    assert con.value is None and seen[-1].value is None


def test_widget_consumer_default_id_names_the_callers_line(store: MapObjectStore) -> None:
    where = here(1)
    con = create_widget_consumer("paragraph-content", store=store)
    assert con.id == f"consumer@{where}" and con.registered_at == where


def test_widget_consumer_converts_raw_values(store: MapObjectStore) -> None:
    seen = []
    con = create_widget_consumer("paragraph-content", "text-widget", store=store)
    con.subscribe(seen.append)
    legacy = store.register_producer("paragraph-content", "legacy-service")
    legacy.publish({"title": "T", "content": "raw"})
    assert seen[0].value == ParagraphContent(title="T", content="raw")
    assert con.values == {"legacy-service": ParagraphContent(title="T", content="raw")}
    assert store.get("paragraph-content") == {"title": "T", "content": "raw"}


def test_widget_consumer_skips_invalid_raw_values(store: MapObjectStore) -> None:
    events = collect_events(store)
    seen = []
    con = create_widget_consumer(
        "paragraph-content", "text-widget", store=store, callback=seen.append
    )
    raw_seen = []
    store.register_consumer("paragraph-content", "raw-logger", raw_seen.append)
    legacy = store.register_producer("paragraph-content", "legacy-service")
    legacy.publish({"title": "ok", "content": "fine"})
    legacy.publish({"title": "broken"})
    assert [u.value.title for u in seen] == ["ok"]
    assert len(raw_seen) == 2  # other consumers still get it
    [failed] = of_kind(events, "validation_failed")
    assert failed.consumer_id == "text-widget" and "content" in failed.message
    assert failed.problems == {"content": "Field required"}
    assert con.value is None  # the newest value does not validate and nothing older remains


def test_widget_consumer_value_is_newest_valid(store: MapObjectStore) -> None:
    con = create_widget_consumer("paragraph-content", "text-widget", store=store)
    good = create_widget_publisher("paragraph-content", "summary-service", store=store)
    legacy = store.register_producer("paragraph-content", "legacy-service")
    good.publish({"title": "good", "content": "x"})
    legacy.publish({"bad": True})
    assert con.value is not None and con.value.title == "good"


def test_dry_run_validates_without_delivering(store: MapObjectStore) -> None:
    seen = []
    store.register_consumer("metric-data", "metric-widget", seen.append)
    store.register_consumer("metric-data", "idle-reader")
    verdict = store.dry_run("metric-data", {"label": "CPU", "value": [1]})
    assert verdict["valid"] is False and verdict["schema"] == "MetricData"
    assert list(verdict["problems"]) == ["value"]
    assert verdict["receivers"] == ["metric-widget"]  # only consumers with callbacks
    assert store.dry_run("metric-data", {"label": "CPU", "value": 1})["valid"] is True
    store.register_producer("raw-channel", "legacy-adapter")
    assert store.dry_run("raw-channel", object())["valid"] is True  # raw: anything goes
    assert seen == [] and store.history("metric-data") == []


def test_table_row_error_counts_read_naturally() -> None:
    with pytest.raises(ValueError, match="row 0 has 2 cells but the table has 1 header "):
        TableData(title="t", headers=["a"], rows=[["x", 1]])
