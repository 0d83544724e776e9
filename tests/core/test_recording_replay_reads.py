"""What a replay reads from a recording besides ``state_at``: its start, and the what-if rule."""

from __future__ import annotations

from pathlib import Path

from mapstore_core import MapObjectStore, create_widget_publisher, open_recording
from mapstore_core.recording import is_skipped

from ..conftest import FakeClock


def test_initial_state_is_the_store_before_the_first_event(tmp_path: Path) -> None:
    store = MapObjectStore(clock=FakeClock())
    feed = create_widget_publisher("metric-data", "realtime-service", store=store)
    feed.publish({"label": "Users", "value": 1})
    with store.record(tmp_path / "quiet.jsonl.gz"):
        pass  # nothing happens while it records
    reader = open_recording(tmp_path / "quiet.jsonl.gz")
    assert len(reader) == 0
    start = reader.initial_state()
    assert start.log_producers() == store.log_producers()
    assert start.values("metric-data") == {
        "realtime-service": {"label": "Users", "value": 1, "change": None, "change_type": "neutral"}
    }


def test_stepping_with_is_skipped_folds_what_state_at_skip_producer_answers(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    store = MapObjectStore(clock=clock)
    with store.record(tmp_path / "two.jsonl") as rec:
        live = create_widget_publisher("metric-data", "realtime-service", store=store)
        polled = create_widget_publisher("metric-data", "polling-service", store=store)
        for value in range(3):
            clock.advance(1.0)
            live.publish({"label": "Users", "value": value})
            polled.publish({"label": "Latency", "value": 40 + value})
        polled.clear()
        rec.mark("cleared")
        polled.publish({"label": "Latency", "value": 50})
    reader = open_recording(tmp_path / "two.jsonl")
    skip = ("metric-data", "polling-service")
    mirror = reader.state_at(0, skip_producer=skip)
    for index, event in enumerate(reader.events(1), start=1):
        if not is_skipped(event, skip):
            mirror.apply(event)
        expected = reader.state_at(index, skip_producer=skip)
        assert mirror.values("metric-data") == expected.values("metric-data")
        assert mirror.history("metric-data") == expected.history("metric-data")
        assert mirror.log_producers() == expected.log_producers()
    assert "polling-service" not in mirror.values("metric-data")
    assert "polling-service" in reader.state_at(len(reader) - 1).values("metric-data")
    # it registered and is still open: only its values are gone
    assert [p.id for p in mirror.producers("metric-data")] == [
        "realtime-service",
        "polling-service",
    ]
