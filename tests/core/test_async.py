from __future__ import annotations

import asyncio
import threading

from mapstore_core import MapObjectStore, create_widget_consumer, create_widget_publisher


async def test_async_iteration_receives_updates_from_another_thread(
    store: MapObjectStore,
) -> None:
    consumer = store.register_consumer("ticks", "tick-widget")
    producer = store.register_producer("ticks", "tick-source")
    stream = aiter(consumer)  # subscribes now, so nothing published after is missed

    def publish() -> None:
        for value in range(100):
            producer.publish(value)
        consumer.close()

    thread = threading.Thread(target=publish)
    thread.start()
    values = [update.value async for update in stream]
    thread.join()
    assert values == list(range(100))


async def test_aclose_ends_iteration(store: MapObjectStore) -> None:
    consumer = store.register_consumer("ticks", "tick-widget")
    producer = store.register_producer("ticks", "tick-source")
    stream = aiter(consumer)
    producer.publish(1)
    first = await anext(stream)
    await stream.aclose()
    producer.publish(2)
    assert first.value == 1
    assert [u async for u in stream] == []
    assert store.consumers()[0].subscribers == 0


async def test_widget_consumer_async_values_are_models(store: MapObjectStore) -> None:
    consumer = create_widget_consumer("metric-data", "metric-widget", store=store)
    publisher = create_widget_publisher("metric-data", "realtime-service", store=store)
    stream = aiter(consumer)
    publisher.publish({"label": "Users", "value": 3})
    update = await asyncio.wait_for(anext(stream), timeout=5)
    assert update.value.label == "Users"


async def test_iterating_a_closed_consumer_ends_at_once(store: MapObjectStore) -> None:
    consumer = store.register_consumer("ticks", "tick-widget")
    consumer.close()
    assert [u async for u in consumer] == []
