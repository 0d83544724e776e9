"""Nothing the store holds breaks a client's stream; reads change nothing; nothing is missed."""

from __future__ import annotations

import inspect
import json
import logging
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import mapstore_core
from mapstore_core import (
    DebugClient,
    DebugRequestError,
    DebugServer,
    MapObjectStore,
    MapStoreError,
    StoreEvent,
)
from mapstore_core import _errors as errors_module
from mapstore_core.debug import _session, _wire
from tests.poll import poll_until

from .helpers import (
    Mirrored,
    hello,
    raw_connect,
    read_message,
    read_state,
    read_until,
    send,
    welcomed,
)


@pytest.fixture
def store() -> MapObjectStore:
    return MapObjectStore()


@pytest.fixture
def server(store: MapObjectStore, socket_path: Path) -> Iterator[DebugServer]:
    with DebugServer(store, path=socket_path) as running:
        yield running


def kinds(events: list[StoreEvent]) -> list[str]:
    return [event.kind for event in events]


def test_values_the_wire_cannot_carry_are_sent_escaped(
    store: MapObjectStore, server: DebugServer
) -> None:
    with Mirrored(server.address) as attached:
        producer = store.register_producer("notes", "notes-service")
        producer.publish({"text": "a\ud800b"})
        poll_until(
            lambda: attached.mirror.get("notes") == {"text": "a\\ud800b"},  # visible, not lost
            what="the value in the mirror",
        )
        client = attached.client
        assert client.request("values", channel="notes") == {"notes-service": {"text": "a\\ud800b"}}
        store.register_producer("notes", "second-service")  # the stream goes on
        poll_until(lambda: attached.kinds().count("registered") == 2, what="the next event")


def test_an_event_over_the_limit_becomes_a_stub_naming_its_size(
    store: MapObjectStore, server: DebugServer
) -> None:
    def fails(update: object) -> None:
        raise ValueError("x" * 2_000_000)  # the consumer_error's traceback is over 1 MiB

    store.register_consumer("blobs", "picky-widget", fails)
    producer = store.register_producer("blobs", "blob-service")
    with Mirrored(server.address) as attached:
        logging.disable(logging.ERROR)  # the store logs the consumer's failure
        try:
            producer.publish(1)
        finally:
            logging.disable(logging.NOTSET)
        poll_until(lambda: "consumer_error" in attached.kinds(), what="the consumer error")
        [stub] = [e for e in attached.events if e.kind == "consumer_error"]
        assert stub.channel == "blobs" and stub.consumer_id == "picky-widget"
        assert stub.message is not None and "event of 4,000," in stub.message  # message + traceback
        assert "omitted" in stub.message and stub.traceback is None
        store.register_producer("blobs", "after-service")
        poll_until(lambda: "registered" in attached.kinds(), what="events after the stub")
        # the mirror stays in step: the stub's channel is synced
        poll_until(
            lambda: attached.mirror.consumers("blobs") == store.consumers("blobs"),
            what="the consumer's error counted in the mirror",
        )
        assert attached.mirror.producers("blobs")[0].publish_count == 1


def test_a_value_over_the_limit_reaches_the_mirror_as_a_stub_naming_its_size(
    store: MapObjectStore, server: DebugServer
) -> None:
    producer = store.register_producer("blobs", "blob-service")
    producer.publish("x" * 2_000_000)
    stub = "<left out: a value of 2,000,002 bytes, over the 1,048,576-byte limit>"
    with Mirrored(server.address) as attached:  # in the state
        assert attached.mirror.values("blobs") == {"blob-service": stub}
        assert [u.value for u in attached.mirror.history("blobs")] == [stub]
        producer.publish("y" * 2_000_000)  # in a sync
        poll_until(
            lambda: [p.publish_count for p in attached.mirror.producers("blobs")] == [2],
            what="the second publish",
        )
        assert attached.mirror.get("blobs") == stub
        small = store.register_producer("blobs", "small-service")
        small.publish("fits")
        poll_until(
            lambda: attached.mirror.values("blobs").get("small-service") == "fits",
            what="the stream goes on",
        )
        assert attached.client.status == "connected"


def test_a_state_over_the_limit_comes_in_parts_each_under_it(
    store: MapObjectStore, server: DebugServer
) -> None:
    producer = store.register_producer("blobs", "blob-service")
    for letter in "abc":
        producer.publish(letter * 900_000)  # under the limit each; 2.7 MB together
    with raw_connect(server.address) as sock:
        send(sock, hello(server.token))
        assert read_message(sock)["type"] == "welcome"  # type: ignore[index]
        sock.settimeout(10)
        lines = b""
        while lines.count(b"\n") < 2 or b'"parts"' not in lines:
            lines += sock.recv(1 << 20)
        parts = [json.loads(line) for line in lines.split(b"\n")[:-1]]
        assert all(len(line) + 1 <= _wire.MAX_MESSAGE_BYTES for line in lines.split(b"\n"))
        assert parts[0]["type"] == "state" and parts[0]["parts"] >= 3
    with Mirrored(server.address) as attached:
        assert [u.value[0] for u in attached.mirror.history("blobs")] == list("abc")


def test_a_large_answer_is_sent_in_parts(store: MapObjectStore, server: DebugServer) -> None:
    producer = store.register_producer("blobs", "blob-service")
    producer.publish("a" * 600_000)
    producer.publish("b" * 600_000)
    with DebugClient(server.address) as client:
        history = client.request("history", channel="blobs")
        assert [len(h["value"]) for h in history] == [600_000, 600_000]
        assert history[1]["value"] == "b" * 600_000
        assert client.request("channels")  # the same connection serves on


def test_an_answer_over_the_cap_is_refused_and_the_connection_stays(
    store: MapObjectStore, server: DebugServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_wire, "MAX_ANSWER_BYTES", 2_000_000)
    producer = store.register_producer("blobs", "blob-service")
    for letter in "abcd":
        producer.publish(letter * 600_000)
    with DebugClient(server.address) as client:
        with pytest.raises(DebugRequestError, match="over the 2,000,000-byte limit; ask for less"):
            client.request("history", channel="blobs")
        assert len(client.request("history", channel="blobs", limit=2)) == 2
        assert client.connected


def test_a_failing_event_pump_is_reported_and_followed_by_a_resync(
    store: MapObjectStore, server: DebugServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = _session.Session.event_line
    failures = [1]

    def fails_once(event: StoreEvent) -> tuple[bytes, bool]:
        if failures and event.kind == "registered":
            failures.pop()
            raise RuntimeError("boom")
        return real(event)

    monkeypatch.setattr(_session.Session, "event_line", staticmethod(fails_once))
    with Mirrored(server.address) as attached:
        store.register_producer("a", "first-service")
        poll_until(lambda: "resync" in attached.statuses, what="the failure reported as a resync")
        [resync] = [s for s in attached.statuses if s == "resync"]
        assert "boom" in resync.detail  # type: ignore[attr-defined]
        # the fresh state that followed holds what the failed event was about
        assert [p.id for p in attached.mirror.producers("a")] == ["first-service"]
        store.register_producer("a", "second-service")
        poll_until(lambda: "registered" in attached.kinds(), what="events after the failure")
    assert [e.producer_id for e in attached.events if e.kind == "registered"] == ["second-service"]


def test_the_dropped_message_names_the_failure(
    store: MapObjectStore, server: DebugServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fails(event: StoreEvent) -> tuple[bytes, bool]:
        raise RuntimeError("boom")

    monkeypatch.setattr(_session.Session, "event_line", staticmethod(fails))
    with raw_connect(server.address) as sock:
        welcomed(sock, server.token)
        store.register_producer("a", "first-service")
        message = read_until(sock, {"dropped"})
        assert message is not None and message["type"] == "dropped"
        assert message["count"] == 1 and "boom" in message["reason"]
        fresh = read_state(sock)  # and a fresh state follows
        assert [p["id"] for p in fresh["producers"]] == ["first-service"]


def test_reads_change_nothing_in_the_app(store: MapObjectStore, server: DebugServer) -> None:
    emitted: list[StoreEvent] = []
    store.subscribe_events(emitted.append, kinds=("diagnostic",))
    store.register_producer("metrics", "temp")  # a non-descriptive id: a doctor finding
    assert kinds(emitted) == ["diagnostic"]  # told when the change happens
    with DebugClient(server.address) as client:  # the state includes the doctor's findings
        assert [d["rule"] for d in client.request("diagnostics")] == ["non-descriptive-id"]
        assert client.request("snapshot")["diagnostics"]
        for method in ("channels", "producers", "consumers", "log_producers"):
            client.request(method)
    store.diagnostics()
    assert kinds(emitted) == ["diagnostic"]  # no diagnostic event from reading, ever


def test_nothing_published_after_connect_is_missed(
    store: MapObjectStore, server: DebugServer
) -> None:
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        for n in range(200):
            seen: list[StoreEvent] = []
            with DebugClient(server.address, on_event=seen.append, retry=None):
                producer = store.register_producer("race", f"racer-{n}-service")
                poll_until(lambda: "registered" in kinds(seen), what=f"connection {n}'s event")  # noqa: B023
            producer.close()
    finally:
        sys.setswitchinterval(interval)


def test_lost_events_are_counted_exactly_across_threads(
    store: MapObjectStore, socket_path: Path
) -> None:
    per_thread, threads = 150, 4
    emitted: list[StoreEvent] = []  # what the store tells every notable-event listener
    store.subscribe_events(emitted.append, kinds=_session.NOTABLE_KINDS)
    with DebugServer(store, path=socket_path, queue_size=20) as server:
        with raw_connect(server.address) as sock:
            welcomed(sock, server.token)

            def churn(t: int) -> None:
                for n in range(per_thread):
                    store.register_producer(f"c{t}", f"worker-{n}-service")

            workers = [threading.Thread(target=churn, args=(t,)) for t in range(threads)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            assert kinds(emitted).count("registered") == per_thread * threads
            received = dropped = 0
            while received + dropped < len(emitted):
                message = read_message(sock)
                assert message is not None
                if message["type"] == "event":
                    received += 1
                elif message["type"] == "dropped":
                    dropped += message["count"]  # (a fresh state follows each)
            assert dropped > 0 and received + dropped == len(emitted)


def test_every_error_is_in_the_one_tree() -> None:
    for name in mapstore_core.__all__:
        value = getattr(mapstore_core, name)
        if inspect.isclass(value) and issubclass(value, BaseException):
            assert issubclass(value, MapStoreError), name
            assert getattr(errors_module, name, None) is value, name  # defined in the one module
            assert name in (errors_module.__doc__ or ""), f"{name} is not drawn in the tree"


def test_an_error_about_a_huge_request_still_fits_an_answer(server: DebugServer) -> None:
    with DebugClient(server.address) as client:
        # 1 MB of DEL characters: its repr in the error is four times as long as the request
        with pytest.raises(DebugRequestError, match=r"unknown method '\\x7f\\x7f"):
            client.request("\x7f" * 1_000_000)
        assert client.request("channels")  # answered, and the connection stays


def test_a_state_that_cannot_be_read_ends_the_connection_with_the_reason(
    store: MapObjectStore, server: DebugServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(kind: str, snapshot: object) -> Iterator[dict[str, object]]:
        raise RuntimeError("the snapshot broke")

    monkeypatch.setattr(_session, "snapshot_parts", broken)
    with raw_connect(server.address) as sock:
        send(sock, hello(server.token))
        assert read_message(sock)["type"] == "welcome"  # type: ignore[index]
        error = read_until(sock, {"error"})
        assert error is not None and error["code"] == "internal"
        assert error["message"] == "the store's state could not be sent: the snapshot broke"
        assert read_until(sock, {"error"}) is None  # and the connection closed
    with pytest.raises(MapStoreError, match="the snapshot broke"):
        DebugClient(server.address, retry=None).connect()
