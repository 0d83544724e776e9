"""Sources that break the guide on purpose, so the doctor and error views have work to do.

Each is the smallest honest version of a mistake seen in real dashboards.
"""

from __future__ import annotations

import gc

from mapstore_core import (
    MapObjectStore,
    Producer,
    PublishValidationError,
    WidgetChannels,
    consumer_only,
    create_widget_publisher,
)


@consumer_only
class LegacyChartWidget:
    """A widget that (wrongly) registers its own producer when it mounts."""

    def __init__(self, store: MapObjectStore) -> None:
        self._store = store
        self.producer: Producer | None = None

    def mount(self) -> None:
        """Mount the widget; the registration here is the anti-pattern."""
        self.producer = create_widget_publisher(
            WidgetChannels.TABLE_DATA, "legacy-chart-feed", store=self._store
        )


class AntipatternSources:
    """Generic id, one source twice, producer in a widget, a leak, invalid payloads, churn."""

    def __init__(self, store: MapObjectStore) -> None:
        self._store = store
        self._producers: list[Producer] = []
        self._ticks = 0
        self.widget = LegacyChartWidget(store)

    def start(self) -> None:
        """Register every bad source."""
        store = self._store
        generic = store.register_producer("legacy-counter", "producer1")
        generic.publish(0)
        for suffix in ("a", "b"):  # one source registering twice
            self._producers.append(store.register_producer("price-ticks", f"price-ticker-{suffix}"))
        self.widget.mount()
        self._leak()
        self._producers += [
            generic,
            create_widget_publisher(WidgetChannels.METRIC_DATA, "flaky-sensor", store=store),
            store.register_producer(WidgetChannels.METRIC_DATA, "legacy-metrics-adapter"),
        ]
        for _ in range(12):  # a render loop re-registering on every frame
            store.register_producer("render-status", "render-loop-feed").close()

    def _leak(self) -> None:
        orphan = self._store.register_producer("session-info", "orphaned-session-feed")
        orphan.publish({"user": "demo", "since": "09:00"})
        del orphan  # dropped without close(): the value stays, the doctor reports the leak
        gc.collect()

    def tick(self) -> None:
        """Publish a little: the flaky sensor sends an invalid payload every other time."""
        self._ticks += 1
        by_id = {p.id: p for p in self._producers}
        by_id["producer1"].publish(self._ticks)
        for producer in (by_id["price-ticker-a"], by_id["price-ticker-b"]):
            producer.publish(100 + self._ticks)
        try:
            if self._ticks % 2:
                by_id["flaky-sensor"].publish({"label": "Sensor", "value": None})
            else:
                by_id["flaky-sensor"].publish({"label": "Sensor", "value": self._ticks})
        except PublishValidationError:
            pass  # the store reported it as a validation_failed event; the demo carries on
        by_id["legacy-metrics-adapter"].publish({"label": "Legacy", "value": "n/a", "trend": "up"})

    def close(self) -> None:
        """Close what can be closed (the leaked producer cannot: nobody holds it)."""
        for producer in self._producers:
            producer.close()
        if self.widget.producer is not None:
            self.widget.producer.close()
