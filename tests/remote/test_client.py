"""The client never dies of a callback, says what the endpoint said, and tells a frozen app.

Each status it reports is a ``ClientStatus``: a ``str`` with the endpoint's words in
``detail`` (and its error ``code``), the same words as ``last_error``.
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

from mapstore_core import DebugClient, DebugConnectionError, DebugServer, MapObjectStore, StoreEvent
from mapstore_core.debug import ClientStatus
from tests.poll import poll_until

from .helpers import Mirrored


@pytest.fixture
def store() -> MapObjectStore:
    return MapObjectStore()


@pytest.fixture
def server(store: MapObjectStore, socket_path: Path) -> Iterator[DebugServer]:
    with DebugServer(store, path=socket_path) as running:
        yield running


def failures(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "mapstore_core.debug"]


def test_raising_callbacks_are_logged_and_the_reader_goes_on(
    store: MapObjectStore, server: DebugServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A raising on_event killed the reader while `connected` stayed True."""
    seen: list[StoreEvent] = []
    states: list[bool] = []
    statuses: list[str] = []

    def on_event(event: StoreEvent) -> None:
        seen.append(event)
        raise RuntimeError("the panel's handler broke")

    def on_state(snapshot: dict[str, Any], partial: bool) -> None:
        states.append(partial)
        raise RuntimeError("so did its state handler")

    def on_status(status: ClientStatus) -> None:
        statuses.append(status)
        raise RuntimeError("and its status handler")

    caplog.set_level(logging.ERROR, logger="mapstore_core.debug")
    with DebugClient(
        server.address, on_event=on_event, on_state=on_state, on_status=on_status, retry=0.05
    ) as client:
        producer = store.register_producer("a", "first-service")
        producer.publish(1)
        poll_until(lambda: seen and True in states, what="an event and a sync")
        store.register_producer("a", "second-service")
        poll_until(lambda: len(seen) == 2, what="the next event: the reader lives")
        assert client.connected and client.status == "connected"
        assert client.request("channels")  # requests are answered through the reader
        logged = failures(caplog)
        for what in ("on_event", "on_state", "on_status"):
            assert any(f"DebugClient {what} callback" in line for line in logged), what
        server.close()  # and it still reconnects
        poll_until(lambda: "disconnected" in statuses, what="the client to notice")
        assert not client.connected


def test_the_endpoints_refusal_reaches_on_status(store: MapObjectStore, socket_path: Path) -> None:
    statuses: list[ClientStatus] = []
    first = DebugServer(store, path=socket_path, token="first-token").start()
    client = DebugClient(
        first.address, token="first-token", on_status=statuses.append, retry=0.05
    ).connect()
    try:
        first.close()
        # restarted with another token: every reconnection is refused, and said so once
        second = DebugServer(store, path=socket_path, token="second-token").start()
        try:
            refused = poll_until(
                lambda: next((s for s in statuses if s == "refused"), None), what="the refusal"
            )
            assert refused.code == "auth"
            assert "(auth): wrong or missing token" in refused.detail
            assert client.last_error == refused.detail
            assert statuses.count("refused") == 1  # not once per retry
            assert not client.connected
        finally:
            second.close()
    finally:
        client.close()


def test_busy_is_said_and_the_client_gets_in_when_there_is_room(
    store: MapObjectStore, socket_path: Path
) -> None:
    """Two clients reconnect to a restarted app that takes one: the other is told busy."""
    first = DebugServer(store, path=socket_path).start()
    statuses: dict[str, list[ClientStatus]] = {"a": [], "b": []}
    clients = {
        name: DebugClient(first.address, on_status=told.append, retry=0.05).connect()
        for name, told in statuses.items()
    }
    try:
        first.close()
        second = DebugServer(store, path=socket_path, max_clients=1).start()
        try:

            def settled() -> tuple[str, str] | None:
                inside = [n for n, c in clients.items() if c.status == "connected"]
                outside = [n for n, c in clients.items() if c.status == "refused"]
                return (inside[0], outside[0]) if inside and outside else None

            inside, outside = poll_until(settled, what="one client in, the other refused")
            busy = clients[outside].status
            assert busy.code == "busy" and "1 clients are already attached" in busy.detail
            assert clients[outside].last_error == busy.detail
            clients[inside].close()
            poll_until(
                lambda: clients[outside].status == "connected", what="the place taken when free"
            )
        finally:
            second.close()
    finally:
        for client in clients.values():
            client.close()


class SilentServer:
    """Says welcome and sends a state, then only what the test tells it to send."""

    def __init__(self, socket_path: Path, **welcome: Any) -> None:
        self.welcome = welcome
        self.listener = socket.socket(socket.AF_UNIX)
        self.listener.bind(str(socket_path))
        self.listener.listen(1)
        self.connection: socket.socket | None = None
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        connection, _ = self.listener.accept()
        connection.recv(65_536)  # the hello
        self.connection = connection
        with contextlib.suppress(OSError):  # a client that refuses the welcome hangs up
            self.send(
                {"type": "welcome", "protocol": "mapstore-debug", "version": 2, **self.welcome}
            )
            self.send({"type": "state", "snapshot": MapObjectStore().snapshot()})
        self.ready.set()

    def send(self, message: dict[str, Any]) -> None:
        assert self.connection is not None
        self.connection.sendall(json.dumps(message).encode() + b"\n")

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
        self.listener.close()
        self.thread.join(timeout=10)


def test_silence_is_an_unresponsive_app_and_a_message_ends_it(socket_path: Path) -> None:
    fake = SilentServer(socket_path)
    statuses: list[ClientStatus] = []
    try:
        with DebugClient(
            f"unix:{socket_path}", token="t", on_status=statuses.append, silence=0.2, retry=None
        ) as client:
            quiet = poll_until(
                lambda: next((s for s in statuses if s == "unresponsive"), None),
                what="the silence noticed",
            )
            assert "nothing came from the app for 0.2 s" in quiet.detail
            assert client.connected and client.status == "unresponsive"
            fake.send({"type": "tick"})
            poll_until(lambda: statuses[-1] == "connected", what="the app heard again")
            assert statuses == ["connected", "unresponsive", "connected"]
    finally:
        fake.close()


def test_an_error_mid_session_is_the_disconnections_detail(socket_path: Path) -> None:
    fake = SilentServer(socket_path)
    statuses: list[ClientStatus] = []
    try:
        with DebugClient(
            f"unix:{socket_path}", token="t", on_status=statuses.append, retry=None
        ) as client:
            fake.send({"type": "error", "code": "internal", "message": "the \x1b[2J end"})
            gone = poll_until(
                lambda: next((s for s in statuses if s == "disconnected"), None),
                what="the disconnection",
            )
            assert gone.code == "internal" and "ended the connection (internal)" in gone.detail
            assert "the \x1b[2J end" in client.last_error  # the words, for the caller to show
            assert not client.connected
    finally:
        fake.close()


def test_a_hostile_error_code_is_not_repeated(socket_path: Path) -> None:
    fake = SilentServer(socket_path)
    statuses: list[ClientStatus] = []
    try:
        with DebugClient(f"unix:{socket_path}", token="t", on_status=statuses.append, retry=None):
            fake.send({"type": "error", "code": "no such\ncode" * 10, "message": 5})
            gone = poll_until(
                lambda: next((s for s in statuses if s == "disconnected"), None),
                what="the disconnection",
            )
            assert gone.code == "?" and gone.detail.endswith("(?): ")
    finally:
        fake.close()


def test_a_mirror_attached_late_catches_up(store: MapObjectStore, server: DebugServer) -> None:
    producer = store.register_producer("metrics", "load-service")
    for n in range(100):
        producer.publish(n)
    with Mirrored(server.address) as attached:
        for n in range(100, 3_000):
            producer.publish(n)
        store.register_consumer("metrics", "load-widget")
        poll_until(
            lambda: attached.mirror.snapshot() == json.loads(json.dumps(store.snapshot())),
            what="the mirror equal to the store",
        )


def test_events_of_a_newer_format_are_refused_at_the_handshake(socket_path: Path) -> None:
    fake = SilentServer(socket_path, events=2)
    try:
        with pytest.raises(DebugConnectionError, match="events of format 2; this mapstore reads"):
            DebugClient(f"unix:{socket_path}", token="t", retry=None).connect()
    finally:
        fake.close()
