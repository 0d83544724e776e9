"""Pattern: a real-time stream's connection manager registers on connect."""

from __future__ import annotations

import random

from mapstore_core import (
    MapObjectStore,
    MetricData,
    WidgetChannels,
    WidgetPublisher,
    create_widget_publisher,
)


class RealtimeConnection:
    """A simulated websocket of live user counts, published on ``metric-data``."""

    PRODUCER_ID = "realtime-service"

    def __init__(self, store: MapObjectStore, rng: random.Random) -> None:
        self._store = store
        self._rng = rng
        self._users = 1_200
        self.publisher: WidgetPublisher[MetricData] | None = None

    def connect(self) -> None:
        """Open the stream; the producer is registered here, when data can start to flow."""
        if self.publisher is None:
            self.publisher = create_widget_publisher(
                WidgetChannels.METRIC_DATA, self.PRODUCER_ID, store=self._store
            )

    def on_message(self) -> MetricData | None:
        """Handle one message from the stream: publish the new count."""
        if self.publisher is None:
            return None
        previous = self._users
        self._users = max(0, previous + self._rng.randint(-40, 45))
        delta = self._users - previous
        metric = MetricData(
            label="Active users (live)",
            value=self._users,
            change=float(delta),
            change_type="increase" if delta > 0 else "decrease" if delta < 0 else "neutral",
        )
        self.publisher.publish(metric)
        return metric

    def disconnect(self) -> None:
        """Close the stream and its producer."""
        if self.publisher is not None:
            self.publisher.close()
            self.publisher = None
