"""``record_endpoint``: a recording of an app through its debug endpoint says every jump.

The endpoint streams publishes coalesced, as syncs; the recording turns each sync back into
the publishes its histories hold (``folded`` counts for those that fell out), and when that
cannot rebuild the sync, or a whole new state comes, it writes a ``gap`` and a checkpoint
that say why. A ``ScriptedEndpoint`` sends exactly the syncs and states a test builds from a
real store (``store.snapshot(channels=...)`` is what the real endpoint sends), so what each
one is recorded as is checked without racing the endpoint's timing.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mapstore_core import (
    DebugServer,
    EventFormatError,
    MapObjectStore,
    StoreEvent,
    open_recording,
)
from mapstore_core.recording import EndpointRecording, record_endpoint
from tests.poll import poll_until


class ScriptedEndpoint:
    """Welcomes one client with ``state``, then sends only what the test tells it to."""

    def __init__(self, socket_path: Path, state: dict[str, Any], name: object = "app") -> None:
        self.state = state
        self.name = name
        self.listener = socket.socket(socket.AF_UNIX)
        self.listener.bind(str(socket_path))
        self.listener.listen(1)
        self.address = f"unix:{socket_path}"
        self.connection: socket.socket | None = None
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        connection, _ = self.listener.accept()
        connection.recv(65_536)  # the hello
        self.connection = connection
        with contextlib.suppress(OSError):
            welcome = {"type": "welcome", "protocol": "mapstore-debug", "version": 2}
            self.send({**welcome, "name": self.name})
            self.send({"type": "state", "snapshot": self.state})

    def send(self, message: dict[str, Any]) -> None:
        assert self.connection is not None
        self.connection.sendall(json.dumps(message).encode() + b"\n")

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
        self.listener.close()
        self.thread.join(timeout=10)


@pytest.fixture
def recorded(tmp_path: Path) -> Path:
    return tmp_path / "app.jsonl.gz"


def started(endpoint: ScriptedEndpoint, path: Path) -> EndpointRecording:
    return record_endpoint(endpoint.address, path, token="t", retry=None)


def events(path: Path) -> list[StoreEvent]:
    return list(open_recording(path).events())


def as_json(data: Any) -> Any:
    return json.loads(json.dumps(data))


def producers_of(reads: Any) -> list[dict[str, Any]]:
    return as_json([p.to_dict() for p in reads.producers()])


def sync_of(store: MapObjectStore, *channels: str) -> dict[str, Any]:
    return {"type": "sync", "snapshot": as_json(store.snapshot(channels=channels))}


def test_a_sync_is_recorded_as_the_publishes_it_brought(socket_path: Path, recorded: Path) -> None:
    store = MapObjectStore()
    orders = store.register_producer("orders", "order-service")
    orders.publish({"n": 0})
    endpoint = ScriptedEndpoint(socket_path, as_json(store.snapshot()))
    try:
        recording = started(endpoint, recorded)
        for n in (1, 2, 3):
            orders.publish({"n": n})
        endpoint.send(sync_of(store, "orders"))
        poll_until(lambda: recording.mirror.get("orders") == {"n": 3}, what="the sync folded")
        recording.close()
    finally:
        endpoint.close()
    published = [e for e in events(recorded) if e.kind == "published"]
    assert [e.update.value for e in published if e.update] == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert all(e.detail is None for e in published)  # nothing folded: each is one publish
    assert recording.stats()["resyncs"] == 0
    view = open_recording(recorded).state_at(-1)
    assert producers_of(view) == producers_of(store)
    assert view.history("orders") == store.history("orders")
    assert open_recording(recorded).header["process"]["name"] == "app"


def test_publishes_that_fell_out_of_the_history_are_counted_folded(
    socket_path: Path, recorded: Path
) -> None:
    store = MapObjectStore(history_size=3)
    ticks = store.register_producer("ticks", "tick-service")
    endpoint = ScriptedEndpoint(socket_path, as_json(store.snapshot()))
    try:
        recording = started(endpoint, recorded)
        for n in range(10):
            ticks.publish(n)
        endpoint.send(sync_of(store, "ticks"))
        poll_until(lambda: recording.mirror.get("ticks") == 9, what="the sync folded")
        recording.close()
    finally:
        endpoint.close()
    published = [e for e in events(recorded) if e.kind == "published"]
    assert [e.update.value for e in published if e.update] == [7, 8, 9]  # what the history held
    assert [e.detail for e in published] == [{"folded": 7}, None, None]
    assert [e.kind for e in events(recorded)] == ["published"] * 3  # no gap: nothing jumped
    view = open_recording(recorded).state_at(-1)
    assert producers_of(view) == producers_of(store)
    assert view.producers()[0].publish_count == 10


def test_a_sync_its_publishes_cannot_rebuild_is_a_gap_naming_the_channel(
    socket_path: Path, recorded: Path
) -> None:
    """A consumer was delivered every publish; the folded ones do not say so: read whole."""
    store = MapObjectStore(history_size=3)
    store.register_consumer("ticks", "tick-widget", lambda update: None)
    ticks = store.register_producer("ticks", "tick-service")
    quiet = store.register_producer("notes", "notes-service")
    quiet.publish("hello")
    endpoint = ScriptedEndpoint(socket_path, as_json(store.snapshot()))
    try:
        recording = started(endpoint, recorded)
        for n in range(10):
            ticks.publish(n)
        quiet.publish("again")
        endpoint.send(sync_of(store, "ticks", "notes"))
        poll_until(lambda: recording.stats()["resyncs"] == 1, what="the gap")
        recording.close()
    finally:
        endpoint.close()
    kinds = [e.kind for e in events(recorded)]
    assert kinds == ["published"] * 4 + ["gap"]  # what could be said, then the jump
    gap = events(recorded)[-1]
    assert gap.message is not None and gap.message.startswith("channel(s) ticks read again")
    assert "notes" not in gap.message  # that one was rebuilt exactly
    assert gap.detail == {"dropped": 0}
    view = open_recording(recorded).state_at(-1)
    assert producers_of(view) == producers_of(store)
    assert as_json([c.to_dict() for c in view.consumers()]) == as_json(
        [c.to_dict() for c in store.consumers()]
    )
    assert view.consumers()[0].delivered == 10


def test_a_new_state_after_lost_events_is_a_gap_that_says_how_many(
    socket_path: Path, recorded: Path
) -> None:
    store = MapObjectStore()
    endpoint = ScriptedEndpoint(socket_path, as_json(store.snapshot()))
    try:
        recording = started(endpoint, recorded)
        store.register_producer("orders", "order-service").publish(1)
        endpoint.send({"type": "dropped", "count": 1234, "reason": "the client fell behind"})
        endpoint.send({"type": "state", "snapshot": as_json(store.snapshot())})
        poll_until(lambda: recording.stats()["resyncs"] == 1, what="the gap")
        recording.close()
    finally:
        endpoint.close()
    [gap] = events(recorded)
    assert gap.kind == "gap"
    assert gap.message == "1,234 events were lost (the client fell behind)"
    assert producers_of(open_recording(recorded).state_at(0)) == producers_of(store)


def test_a_sync_that_is_not_a_snapshot_is_a_gap_never_a_traceback(
    socket_path: Path, recorded: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = MapObjectStore()
    orders = store.register_producer("orders", "order-service")
    endpoint = ScriptedEndpoint(socket_path, as_json(store.snapshot()))
    caplog.set_level(logging.WARNING)
    try:
        recording = started(endpoint, recorded)
        endpoint.send({"type": "sync", "snapshot": {"version": 2, "channels": "\x1b[2J"}})
        poll_until(lambda: recording.stats()["resyncs"] == 1, what="the gap")
        orders.publish("after")  # and the recording goes on
        endpoint.send(sync_of(store, "orders"))
        poll_until(lambda: recording.mirror.get("orders") == "after", what="the next sync")
        recording.close()
    finally:
        endpoint.close()
    gap, published = events(recorded)
    assert gap.kind == "gap" and gap.message is not None
    assert gap.message.startswith("the app sent a sync this mapstore cannot read (")
    assert published.kind == "published"
    assert not [r for r in caplog.records if r.exc_info]  # nothing logged with a traceback


@pytest.mark.parametrize("name", ["\x1b]0;owned\x07", "x" * 10_000, 42, None])
def test_a_name_no_endpoint_could_have_is_not_taken(
    socket_path: Path, recorded: Path, name: object
) -> None:
    endpoint = ScriptedEndpoint(socket_path, as_json(MapObjectStore().snapshot()), name)
    try:
        with started(endpoint, recorded) as recording:
            assert recording.name is None
    finally:
        endpoint.close()
    assert open_recording(recorded).header["process"]["name"] is None


def test_an_unreadable_first_state_is_refused_and_leaves_no_file(
    socket_path: Path, recorded: Path
) -> None:
    endpoint = ScriptedEndpoint(socket_path, {"version": 2, "seq": "no"})
    try:
        with pytest.raises(EventFormatError, match=r"the state unix:.* sent cannot be read"):
            started(endpoint, recorded)
    finally:
        endpoint.close()
    assert not recorded.exists()


@pytest.fixture
def app_store() -> MapObjectStore:
    return MapObjectStore()


@pytest.fixture
def served(app_store: MapObjectStore, socket_path: Path) -> Iterator[DebugServer]:
    with DebugServer(app_store, path=socket_path) as server:
        yield server


def test_a_restarted_app_is_a_gap_then_its_new_state(
    app_store: MapObjectStore, served: DebugServer, socket_path: Path, recorded: Path
) -> None:
    """The real endpoint: the app goes, another comes at the same address, recording goes on."""
    app_store.register_producer("orders", "order-service").publish(1)
    with record_endpoint(served.address, recorded, retry=0.05) as recording:
        served.close()
        poll_until(lambda: recording.status == "disconnected", what="the app gone")
        restarted = MapObjectStore()
        restarted.register_producer("orders", "order-service-v2").publish(2)
        with DebugServer(restarted, path=socket_path):
            poll_until(lambda: recording.stats()["resyncs"] == 1, what="the reconnection")
            restarted.register_producer("prices", "price-feed")
            poll_until(lambda: recording.mirror.producers("prices"), what="an event after it")
    gap, *after = events(recorded)
    assert gap.kind == "gap" and gap.message == f"reconnected to {served.address}"
    assert [e.producer_id for e in after if e.kind == "registered"] == ["price-feed"]
    reader = open_recording(recorded)
    assert [p.id for p in reader.state_at(0).producers()] == ["order-service-v2"]
    assert producers_of(reader.state_at(-1)) == producers_of(restarted)
