"""``R`` in a live panel: the last minute of what it shows, written to a recording."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from mapstore_core import (
    MapObjectStore,
    StoreMirror,
    WidgetPublisher,
    create_widget_publisher,
    open_recording,
)
from mapstore_tui import MapStoreApp
from mapstore_tui.flight import flight_dump_path
from mapstore_tui.view import LocalStoreView

from ..conftest import FakeClock
from .helpers import SIZE, Toasts


@pytest.fixture
def held() -> Iterator[list[WidgetPublisher[Any]]]:
    """Producers held open during a test (one dropped unclosed would be a leak event)."""
    producers: list[WidgetPublisher[Any]] = []
    yield producers
    for producer in producers:
        producer.close()


def busy_store(clock: Callable[[], float], held: list[WidgetPublisher[Any]]) -> MapObjectStore:
    store = MapObjectStore(clock=clock)
    live = create_widget_publisher("metric-data", "realtime-service", store=store)
    held.append(live)
    for users in range(5):
        live.publish({"label": "Live users", "value": users})
    return store


async def press_r(
    app: MapStoreApp, monkeypatch: pytest.MonkeyPatch, meanwhile: Callable[[], object]
) -> Toasts:
    """Open the panel, let ``meanwhile`` change the store, then press R."""
    toasts = Toasts()
    async with app.run_test(size=SIZE) as pilot:
        monkeypatch.setattr(app, "notify", toasts)
        await pilot.pause()
        assert app.flight is not None
        meanwhile()
        await pilot.pause()
        await pilot.press("R")
        await app.workers.wait_for_complete()
        await pilot.pause()
    return toasts


async def test_r_dumps_the_flight_recorder_of_a_local_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, held: list[WidgetPublisher[Any]]
) -> None:
    monkeypatch.chdir(tmp_path)
    clock = FakeClock()
    store = busy_store(clock, held)
    app = MapStoreApp(store=store, clock=clock, refresh_interval=0.0)

    def more_after_mount() -> None:  # the window holds what happened since the panel opened
        publisher = create_widget_publisher("metric-data", "polling-service", store=store)
        held.append(publisher)
        clock.advance(1.0)
        publisher.publish({"label": "Latency", "value": 42})

    toasts = await press_r(app, monkeypatch, more_after_mount)
    (dump,) = tmp_path.glob("mapstore-flight-*.jsonl.gz")
    assert (
        dump.name == f"mapstore-flight-{datetime.fromtimestamp(clock.now):%Y%m%d-%H%M%S}.jsonl.gz"
    )
    reader = open_recording(dump)
    assert len(reader) == 2  # registered, published
    end = reader.state_at(len(reader) - 1)
    assert end.log_producers() == store.log_producers()
    assert (
        end.values("metric-data")
        == json.loads(json.dumps(store.snapshot()["values"]))["metric-data"]
    )
    assert toasts.titles() == ["Flight recorder", "Flight recorder"]
    assert toasts.calls[-1]["message"].startswith(f"2 events written to {dump}")
    assert app.flight is not None and app.flight.closed  # closed with the panel


async def test_r_dumps_what_a_mirror_was_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, held: list[WidgetPublisher[Any]]
) -> None:
    """An attached panel reads a mirror: its recorder records the events folded into it.

    The window is on this machine's clock, as the events' times are in a real attach.
    """
    monkeypatch.chdir(tmp_path)
    store = busy_store(time.time, held)
    mirror = StoreMirror(store.snapshot())
    store.subscribe_events(mirror.apply)
    app = MapStoreApp(view=LocalStoreView(mirror), refresh_interval=0.0)

    def publish_more() -> None:
        feed = create_widget_publisher("paragraph-content", "summary-service", store=store)
        held.append(feed)
        feed.publish({"title": "T", "content": "after the panel opened"})

    await press_r(app, monkeypatch, publish_more)
    (dump,) = tmp_path.glob("mapstore-flight-*.jsonl.gz")
    reader = open_recording(dump)
    assert [e.kind for e in reader.events()] == ["registered", "published"]
    assert reader.state_at(1).log_producers() == store.log_producers()


def test_two_dumps_in_one_second_get_two_names(tmp_path: Path) -> None:
    first = flight_dump_path(1_700_000_000.0, tmp_path)
    first.touch()
    second = flight_dump_path(1_700_000_000.0, tmp_path)
    third = flight_dump_path(1_700_000_000.0, tmp_path, {second})
    assert first.name.startswith("mapstore-flight-2023") and first.name.endswith(".jsonl.gz")
    assert second.name == first.name.replace(".jsonl.gz", "-2.jsonl.gz")
    assert third.name == first.name.replace(".jsonl.gz", "-3.jsonl.gz")
