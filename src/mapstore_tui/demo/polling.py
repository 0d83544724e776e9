"""Pattern: a polling service registers when it starts polling."""

from __future__ import annotations

import random

from mapstore_core import (
    MapObjectStore,
    MetricData,
    WidgetChannels,
    WidgetPublisher,
    create_widget_publisher,
)


class PollingService:
    """Polls a (simulated) health endpoint every few seconds; publishes on ``metric-data``."""

    PRODUCER_ID = "polling-service"
    INTERVAL = 3.0

    def __init__(self, store: MapObjectStore, rng: random.Random) -> None:
        self._store = store
        self._rng = rng
        self._latency = 120.0
        self.publisher: WidgetPublisher[MetricData] | None = None

    def start(self) -> None:
        """Start polling: register the producer."""
        if self.publisher is None:
            self.publisher = create_widget_publisher(
                WidgetChannels.METRIC_DATA, self.PRODUCER_ID, store=self._store
            )

    def poll(self) -> MetricData | None:
        """One poll: publish the measured latency."""
        if self.publisher is None:
            return None
        previous = self._latency
        self._latency = round(max(5.0, previous + self._rng.gauss(0, 15)), 1)
        change = round(self._latency - previous, 1)
        metric = MetricData(
            label="API latency (ms, polled)",
            value=self._latency,
            change=change,
            change_type="decrease" if change < 0 else "increase" if change > 0 else "neutral",
        )
        self.publisher.publish(metric)
        return metric

    def close(self) -> None:
        """Stop polling and close the producer; ``start()`` registers it again."""
        if self.publisher is not None:
            self.publisher.close()
            self.publisher = None

    def stop(self) -> None:
        """An alias of ``close()``, kept for code written before it."""
        self.close()
