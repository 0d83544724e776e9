"""The debug endpoint: safe by default, robust to bad clients, never blocking publishers."""

from __future__ import annotations

import json
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mapstore_core import (
    DebugAuthError,
    DebugClient,
    DebugEndpointError,
    DebugRequestError,
    DebugServer,
    MapObjectStore,
    StoreEvent,
    create_widget_publisher,
)
from mapstore_core.debug import _session
from tests.poll import poll_until

from .helpers import Mirrored, hello, raw_connect, read_message, send, welcomed


@pytest.fixture
def store() -> MapObjectStore:
    return MapObjectStore()


@pytest.fixture
def server(store: MapObjectStore, socket_path: Path) -> Iterator[DebugServer]:
    with DebugServer(store, path=socket_path, queue_size=1_000) as running:
        yield running


def publishes_keep_flowing(store: MapObjectStore, count: int = 1_000) -> None:
    producer = store.register_producer("heartbeat", "heartbeat-service")
    for n in range(count):
        producer.publish(n)
    assert store.producers("heartbeat")[0].publish_count == count
    producer.close()


def test_socket_and_token_are_private(server: DebugServer, socket_path: Path) -> None:
    assert server.address == f"unix:{socket_path}"
    assert stat.S_IMODE(socket_path.stat().st_mode) == 0o600
    assert server.token_path is not None
    assert stat.S_IMODE(server.token_path.stat().st_mode) == 0o600
    assert server.token_path.read_text() == server.token
    assert len(server.token) >= 32


def test_refuses_a_directory_others_can_enter(store: MapObjectStore, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    with pytest.raises(DebugEndpointError, match="chmod 700"):
        DebugServer(store, path=shared / "app.sock").start()


def test_tcp_is_opt_in_and_on_loopback(store: MapObjectStore) -> None:
    with DebugServer(store, port=0) as server:
        assert server.address.startswith("tcp://127.0.0.1:")
        assert server.token_path is None
        with DebugClient(server.address, token=server.token) as client:
            assert client.request("channels")[0]["name"] == "paragraph-content"


def test_requests_read_the_store(store: MapObjectStore, server: DebugServer) -> None:
    publisher = create_widget_publisher("metric-data", "cpu-service", store=store)
    for value in range(5):
        publisher.publish({"label": "CPU", "value": value})
    with DebugClient(server.address) as client:  # the token comes from the file
        assert client.welcome["read_only"] is True
        assert client.request("log_producers") == store.log_producers()
        assert client.request("producers", channel="metric-data")[0]["id"] == "cpu-service"
        history = client.request("history", channel="metric-data", limit=2)
        assert [h["value"]["value"] for h in history] == [3, 4]
        assert client.request("schema", channel="metric-data")["title"] == "MetricData"
        assert client.request("snapshot") == store.snapshot()
        with pytest.raises(DebugRequestError, match="unknown method 'exec'"):
            client.request("exec", code="print(1)")
        with pytest.raises(DebugRequestError, match="'limit' must be an integer"):
            client.request("history", channel="metric-data", limit="2")
        with pytest.raises(DebugRequestError, match="'channel' must be a string"):
            client.request("values", channel=["metric-data"])
        with pytest.raises(DebugRequestError, match="unexpected keyword"):
            client.request("channels", path="/etc/passwd")
        with pytest.raises(DebugRequestError, match="dry runs are off"):
            client.request("dry_run", channel="metric-data", payload={})


def test_a_client_is_sent_the_state_then_events_and_syncs(
    store: MapObjectStore, server: DebugServer
) -> None:
    early = store.register_producer("prices", "price-feed")
    early.publish({"px": 1.0})
    with Mirrored(server.address) as attached:
        # connect() returns with the state in the mirror
        assert attached.mirror.values("prices") == {"price-feed": {"px": 1.0}}
        late = store.register_producer("prices", "late-feed")
        poll_until(lambda: "registered" in attached.kinds(), what="the registration event")
        [registered] = [e for e in attached.events if e.kind == "registered"]
        assert registered.where == late.registered_at and registered.producer_id == "late-feed"
        early.publish({"px": 1.5})  # publishes come as syncs of the channel, not events
        poll_until(
            lambda: attached.mirror.get("prices") == {"px": 1.5}, what="the publish in a sync"
        )
        assert "published" not in attached.kinds()
        assert [c["name"] for s in attached.syncs for c in s["channels"]] == ["prices"]
    assert attached.mirror.snapshot() == json.loads(json.dumps(store.snapshot()))


def test_a_quiet_app_sends_ticks(store: MapObjectStore, server: DebugServer) -> None:
    with raw_connect(server.address) as sock:
        state = welcomed(sock, server.token)
        assert state["seq"] == store.snapshot()["seq"]
        started = time.monotonic()
        tick = read_message(sock)  # nothing happens in the store meanwhile
        assert tick == {"type": "tick"}
        assert time.monotonic() - started >= _session.TICK_SECONDS * 0.9


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (hello("wrong-token"), "auth"),
        (hello(None), "auth"),
        (hello("x", version=1), "version"),  # an older client
        (hello("x", protocol="other"), "protocol"),
        ({"type": "request", "id": 1, "method": "channels"}, "protocol"),
    ],
)
def test_bad_handshakes_are_refused_and_disclose_nothing(
    store: MapObjectStore, server: DebugServer, message: dict[str, object], code: str
) -> None:
    if message.get("token") == "x":
        message = {**message, "token": server.token}
    with raw_connect(server.address) as sock:
        send(sock, message)
        reply = read_message(sock)
        assert reply is not None and set(reply) == {"type", "code", "message"}
        assert (reply["type"], reply["code"]) == ("error", code)
        assert read_message(sock) is None  # closed
    publishes_keep_flowing(store)
    with DebugClient(server.address) as client:  # the server still serves
        assert client.request("channels")


def test_client_errors_name_the_refusal(server: DebugServer) -> None:
    with pytest.raises(DebugAuthError, match=r"\(auth\): wrong or missing token"):
        DebugClient(server.address, token="nope").connect()


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json\n", "not JSON"),
        (b"[1, 2]\n", "must be a JSON object"),
        (b'{"no": "type"}\n', "no string 'type'"),
        (b'{"type": "event"}\n', "unexpected message type"),
        (b'{"type": "request", "id": "1", "method": "channels"}\n', "integer 'id'"),
        (b'{"type": "request", "pad": "' + b"a" * 1_100_000 + b'"}\n', "limit"),
    ],
    ids=["not-json", "not-object", "no-type", "unexpected", "bad-id", "oversized"],
)
def test_bad_messages_close_only_that_connection(
    store: MapObjectStore, server: DebugServer, payload: bytes, reason: str
) -> None:
    with raw_connect(server.address) as sock:
        send(sock, hello(server.token))
        assert read_message(sock)["type"] == "welcome"  # type: ignore[index]
        send(sock, payload)
        reply = None
        while True:  # events may come first
            message = read_message(sock)
            if message is None or message["type"] == "error":
                reply = message
                break
        assert reply is not None and reply["code"] == "protocol" and reason in reply["message"]
        assert read_message(sock) is None
    publishes_keep_flowing(store)
    with DebugClient(server.address) as client:
        assert client.request("log_producers") == store.log_producers()


def test_dry_run_when_the_app_allows_it(store: MapObjectStore, socket_path: Path) -> None:
    store.register_consumer("metric-data", "metric-widget", callback=lambda u: None)
    with (
        DebugServer(store, path=socket_path, allow_dry_run=True) as server,
        DebugClient(server.address) as client,
    ):
        assert client.welcome["dry_run"] is True
        bad = client.request("dry_run", channel="metric-data", payload={"label": 3})
        assert bad == {
            "valid": False,
            "exists": True,
            "schema": "MetricData",
            "problems": {"label": "Input should be a valid string", "value": "Field required"},
            "receivers": ["metric-widget"],
        }
        good = client.request("dry_run", channel="metric-data", payload={"label": "a", "value": 1})
        assert good["valid"] is True
    assert store.history("metric-data") == []  # nothing was delivered


def test_a_client_that_never_reads_never_blocks_publishers(
    store: MapObjectStore, server: DebugServer
) -> None:
    with raw_connect(server.address) as stuck:
        send(stuck, hello(server.token))
        assert read_message(stuck)["type"] == "welcome"  # type: ignore[index]
        # From now on it reads nothing while the app publishes and churns producers.
        producer = store.register_producer("flood", "flood-service")
        for n in range(20_000):
            producer.publish({"blob": "x" * 1_000, "n": n})
        for n in range(2_000):  # notable events: these are queued one by one
            store.register_producer("churn", f"worker-{n}-service").close()
        assert store.producers("flood")[0].publish_count == 20_000  # counted, not timed
        with DebugClient(server.address) as client:  # others are served meanwhile
            assert client.request("producers", channel="flood")[0]["publish_count"] == 20_000
        stuck.settimeout(10)
        dropped = None
        for _ in range(50_000):  # it is told what it missed once it reads again
            message = read_message(stuck)
            if message is None or message["type"] == "dropped":
                dropped = message
                break
        assert dropped is not None and dropped["count"] > 0


def test_several_clients_and_one_leaving_mid_stream(
    store: MapObjectStore, server: DebugServer
) -> None:
    seen: dict[str, list[StoreEvent]] = {name: [] for name in ("a", "b", "c")}
    clients = {
        name: DebugClient(server.address, on_event=events.append).connect()
        for name, events in seen.items()
    }
    stop = threading.Event()

    def churn() -> None:  # registrations and closes: every one reaches every client
        n = 0
        while not stop.is_set():
            store.register_producer("workers", f"worker-{n}-service").close()
            n += 1

    thread = threading.Thread(target=churn)
    thread.start()
    try:
        poll_until(lambda: all(len(events) > 10 for events in seen.values()), what="events to all")
        clients.pop("b").close()  # leaves while events are flowing
        before = len(seen["a"])
        poll_until(lambda: len(seen["a"]) > before + 10, what="events after one left")
    finally:
        stop.set()
        thread.join()
    # each remaining client holds its notable listener (and at most one publish listener);
    # no public query counts a store's listeners, so the test reads the store's own list
    poll_until(lambda: len(store._listeners) <= 4, what="the leaver's listeners to go")
    for client in clients.values():
        client.close()
    poll_until(lambda: len(store._listeners) == 0, what="every listener to go")


def test_publishes_are_coalesced_for_clients(store: MapObjectStore, server: DebugServer) -> None:
    with Mirrored(server.address) as attached:
        producer = store.register_producer("ticks", "tick-source")
        started = time.monotonic()
        for n in range(5_000):
            producer.publish(n)
        poll_until(
            lambda: [p.publish_count for p in attached.mirror.producers("ticks")] == [5_000],
            what="every publish counted in the mirror",
        )
        took = time.monotonic() - started
        assert attached.mirror.get("ticks") == 4_999
        # syncs, not a copy of every publish: at most one per SYNC_INTERVAL
        assert 1 <= len(attached.syncs) <= took / _session.SYNC_INTERVAL + 2
        assert "published" not in attached.kinds()


def test_client_reconnects_when_the_app_restarts(store: MapObjectStore, socket_path: Path) -> None:
    statuses: list[str] = []
    first = DebugServer(store, path=socket_path).start()
    client = DebugClient(first.address, on_status=statuses.append, retry=0.05).connect()
    try:
        first.stop()
        poll_until(lambda: "disconnected" in statuses, what="the client to notice")
        assert not client.connected
        restarted = DebugServer(MapObjectStore(), path=socket_path).start()  # a new token
        try:
            poll_until(lambda: statuses[-1] == "connected", what="the client to reconnect")
            assert client.request("channels")[0]["name"] == "paragraph-content"
        finally:
            restarted.stop()
    finally:
        client.close()


def test_a_generated_token_can_follow_token_on_a_command_line() -> None:
    """A token starting with "-" made the printed `--token TOKEN` an argparse error."""
    tokens = {DebugServer(MapObjectStore(), port=0).token for _ in range(200)}
    assert len(tokens) == 200
    assert all(len(t) >= 32 and t.isalnum() and not t.startswith("-") for t in tokens)
