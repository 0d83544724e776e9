"""Validated channels: ``define_channel`` and the widget publisher and consumer factories."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any, Literal, cast, overload

from pydantic import BaseModel

from mapstore_core import _callsite
from mapstore_core._default import default_store
from mapstore_core._handles import WidgetConsumer, WidgetPublisher
from mapstore_core._names import channel_name
from mapstore_core._schemas import MetricData, ParagraphContent, TableData, WidgetChannels
from mapstore_core._state import Callback

if TYPE_CHECKING:
    from mapstore_core._store import MapObjectStore

__all__ = [
    "create_widget_consumer",
    "create_widget_publisher",
    "define_channel",
]


def define_channel(
    channel: str | Enum, model: type[BaseModel], *, store: MapObjectStore | None = None
) -> str:
    """Give ``channel`` a pydantic model in ``store`` (default ``map_store``); returns its name.

    Raises:
        ChannelSchemaConflict: the channel already has a different model.
    """
    return default_store(store).define_channel(channel, model)


@overload
def create_widget_publisher(
    channel: Literal[WidgetChannels.PARAGRAPH_CONTENT],
    producer_id: str,
    *,
    store: MapObjectStore | None = None,
) -> WidgetPublisher[ParagraphContent]: ...
@overload
def create_widget_publisher(
    channel: Literal[WidgetChannels.TABLE_DATA],
    producer_id: str,
    *,
    store: MapObjectStore | None = None,
) -> WidgetPublisher[TableData]: ...
@overload
def create_widget_publisher(
    channel: Literal[WidgetChannels.METRIC_DATA],
    producer_id: str,
    *,
    store: MapObjectStore | None = None,
) -> WidgetPublisher[MetricData]: ...
@overload
def create_widget_publisher(
    channel: str | Enum, producer_id: str, *, store: MapObjectStore | None = None
) -> WidgetPublisher[Any]: ...
def create_widget_publisher(
    channel: str | Enum, producer_id: str, *, store: MapObjectStore | None = None
) -> WidgetPublisher[Any]:
    """Register a validated producer on a channel that has a model (the guide's way).

    Raises:
        ChannelNotDefined: the channel has no model; call ``define_channel`` first.
        ProducerAlreadyRegistered: ``producer_id`` is open on the channel.
    """
    target = default_store(store)
    return target._register_producer(
        channel_name(channel), producer_id, kind="producer", validated=True, cls=WidgetPublisher
    )


@overload
def create_widget_consumer(
    channel: Literal[WidgetChannels.PARAGRAPH_CONTENT],
    consumer_id: str | None = None,
    *,
    store: MapObjectStore | None = None,
    callback: Callback | None = None,
) -> WidgetConsumer[ParagraphContent]: ...
@overload
def create_widget_consumer(
    channel: Literal[WidgetChannels.TABLE_DATA],
    consumer_id: str | None = None,
    *,
    store: MapObjectStore | None = None,
    callback: Callback | None = None,
) -> WidgetConsumer[TableData]: ...
@overload
def create_widget_consumer(
    channel: Literal[WidgetChannels.METRIC_DATA],
    consumer_id: str | None = None,
    *,
    store: MapObjectStore | None = None,
    callback: Callback | None = None,
) -> WidgetConsumer[MetricData]: ...
@overload
def create_widget_consumer(
    channel: str | Enum,
    consumer_id: str | None = None,
    *,
    store: MapObjectStore | None = None,
    callback: Callback | None = None,
) -> WidgetConsumer[Any]: ...
def create_widget_consumer(
    channel: str | Enum,
    consumer_id: str | None = None,
    *,
    store: MapObjectStore | None = None,
    callback: Callback | None = None,
) -> WidgetConsumer[Any]:
    """Register a consumer whose values are instances of the channel's model.

    ``consumer_id`` defaults to ``consumer@<path:line>`` of the calling line. Callbacks get
    ``ChannelUpdate``s whose ``value`` is the model (None when cleared).

    Raises:
        ChannelNotDefined: the channel has no model.
    """
    target = default_store(store)
    name = channel_name(channel)
    state = target._require_model(name)
    where = _callsite.caller_location()
    consumer = target._register_consumer(
        name, consumer_id or f"consumer@{where}", callback, state.model, where
    )
    return cast("WidgetConsumer[Any]", consumer)
