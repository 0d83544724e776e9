"""A small recording written by a real store on a fixed clock, for the replay's tests.

Two producers share ``metric-data`` (a what-if without one changes the preview), a static
page publishes a paragraph, a consumer watches the metrics, ``polling-service`` sends one
payload the model rejects, and two markers label the moments around it. Every step is a
quarter of a second apart, so the whole session lasts a few seconds of recorded time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mapstore_core import (
    MapObjectStore,
    PublishValidationError,
    WidgetChannels,
    create_widget_consumer,
    create_widget_publisher,
)

from ..conftest import FakeClock

STEP = 0.25
MARKERS = ("polling starts", "after the rejection")


def write_session(path: Path) -> Path:
    """Record the session described in the module docstring into ``path``."""
    clock = FakeClock()
    store = MapObjectStore(clock=clock)

    def later() -> None:
        clock.advance(STEP)

    with store.record(path) as rec:
        page = create_widget_publisher(
            WidgetChannels.PARAGRAPH_CONTENT, "static-page-content", store=store
        )
        page.publish({"title": "Welcome", "content": "A recorded session."})
        later()
        live = create_widget_publisher(WidgetChannels.METRIC_DATA, "realtime-service", store=store)
        later()
        polled = create_widget_publisher(WidgetChannels.METRIC_DATA, "polling-service", store=store)
        later()
        watcher = create_widget_consumer(WidgetChannels.METRIC_DATA, "metric-widget", store=store)
        for users in (120, 135, 150):
            later()
            live.publish(
                {"label": "Live users", "value": users, "change": 15, "change_type": "increase"}
            )
        later()
        rec.mark(MARKERS[0])
        later()
        polled.publish({"label": "API latency (ms)", "value": 120})
        later()
        live.publish({"label": "Live users", "value": 160, "change": 10, "change_type": "increase"})
        later()
        with pytest.raises(PublishValidationError):
            polled.publish({"label": "API latency (ms)", "value": 99, "change_type": "sideways"})
        later()
        rec.mark(MARKERS[1])
        later()
        polled.publish(
            {"label": "API latency (ms)", "value": 95, "change": -25, "change_type": "decrease"}
        )
        later()
        live.publish(
            {"label": "Live users", "value": 142, "change": -18, "change_type": "decrease"}
        )
    watcher.close()
    for producer in (page, live, polled):
        producer.close()
    return path
