"""Found by a hostile second look at the real thing: junk on disk, abusive clients, the CLI."""

from __future__ import annotations

import gc
import json
import logging
import os
import pty
import select
import signal
import socket
import subprocess
import sys
import threading
import weakref
from pathlib import Path
from typing import Any

import pytest

from mapstore_core import (
    DebugClient,
    DebugEndpointError,
    DebugRequestError,
    DebugServer,
    MapObjectStore,
    StoreEvent,
    create_widget_publisher,
)
from mapstore_core.debug import _session, list_debug_endpoints
from mapstore_tui.cli import main
from tests.poll import poll_until

from .helpers import (
    AppProcess,
    DemoProcess,
    Mirrored,
    hello,
    private_dir,
    raw_connect,
    read_until,
    send,
    welcomed,
)
from .test_endpoints import user_error


def stale_socket(path: Path, description: object) -> None:
    """A socket nobody listens on, with a description file of our own (mode 0600)."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
    json_path = path.with_name(path.name + ".json")
    json_path.write_text(json.dumps(description))
    json_path.chmod(0o600)


def test_ls_survives_junk_in_the_endpoint_directory(
    tmp_path: Path, runtime: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = AppProcess(private_dir(tmp_path / "app"), runtime)
    try:
        directory = runtime / "mapstore"
        (directory / "dir.sock").mkdir()
        (directory / "dir2.sock.json").mkdir()  # an "orphan description" that is a directory
        (directory / "dir3.sock.token").mkdir()
        (directory / "link.sock").symlink_to("/etc/passwd")
        os.mkfifo(directory / "fifo.sock")
        stale_socket(directory / "huge.sock", {"pid": 10**30})  # os.kill: OverflowError
        stale_socket(directory / "nostart.sock", {"pid": 2**31 - 2})  # no process_start
        stale_socket(directory / "bool.sock", {"pid": True, "process_start": None})
        assert main(["ls"]) == 0
        captured = capsys.readouterr()
        assert captured.err == ""
        [_header, row] = captured.out.splitlines()
        assert row.startswith("app ") and row.endswith(app.address)
        left = sorted(os.listdir(directory))
        # stale sockets are cleaned; what is not ours to judge (directories, links, fifos) stays
        assert left == [
            "app.sock",
            "app.sock.json",
            "app.sock.token",
            "dir.sock",
            "dir2.sock.json",
            "dir3.sock.token",
            "fifo.sock",
            "link.sock",
        ]
        assert [e.name for e in list_debug_endpoints()] == ["app"]
    finally:
        app.finish(signal.SIGKILL)
    assert "Traceback" not in app.stderr


def test_a_directory_where_the_token_goes_is_a_clear_refusal(socket_path: Path) -> None:
    stale_socket(socket_path, {"pid": 10**30})
    token_dir = socket_path.with_name(socket_path.name + ".token")
    token_dir.mkdir()
    with pytest.raises(DebugEndpointError, match="cannot serve at"):
        DebugServer(MapObjectStore(), path=socket_path).start()
    assert token_dir.is_dir()  # not removed
    # and nothing half-written is left beside it
    assert sorted(os.listdir(socket_path.parent)) == ["app.sock.token"]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["snapshot", "--attach", ""], "an address is empty"),
        (["log-producers", "--attach", "  "], "an address is empty"),
        (["serve-demo", "--socket", ""], "path= is empty"),
    ],
    ids=["empty-attach", "blank-attach", "empty-socket"],
)
def test_empty_addresses_are_user_errors(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # an empty --attach once printed the demo's snapshot as if it were the app's
    assert says in user_error(argv, capsys)
    assert capsys.readouterr().out == ""


def test_serve_demo_with_a_socket_of_its_own_says_to_attach_by_path(
    tmp_path: Path, runtime: Path
) -> None:
    other = AppProcess(private_dir(tmp_path / "app"), runtime)  # a live endpoint named "app"
    socket_path = private_dir(tmp_path / "run") / "mine.sock"
    demo = DemoProcess(socket_path, "--name", "app")
    try:
        assert demo.process.stdout is not None
        hint = demo.process.stdout.readline()
        # `attach app` would open the other app's store
        assert hint == f"attach with: mapstore-tui attach unix:{socket_path}\n"
    finally:
        demo.stop()
        other.finish(signal.SIGKILL)


def test_clients_that_never_read_large_answers_cannot_swell_the_app(
    socket_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each stuck answer in parts was held whole: 16 such clients took an app to 650 MiB."""
    monkeypatch.setattr(_session, "ANSWERS_IN_FLIGHT", 3_000_000)
    store = MapObjectStore()
    producer = store.register_producer("blobs", "blob-service")
    for letter in "abcd":
        producer.publish(letter * 600_000)  # history: 2.4 MB, sent in parts
    request = {"type": "request", "id": 1, "method": "history", "params": {"channel": "blobs"}}
    with DebugServer(store, path=socket_path) as server:
        stuck = raw_connect(server.address)
        welcomed(stuck, server.token)  # its state, in parts, is read whole
        send(stuck, request)
        first = read_until(stuck, {"response"})
        assert first is not None and first["part"] == 0  # ...and it reads no more
        with DebugClient(server.address) as client:
            with pytest.raises(DebugRequestError, match=r"already sending .* ask again later"):
                client.request("history", channel="blobs")
            assert client.request("channels")  # the connection stays
            assert server.answering <= _session.ANSWERS_IN_FLIGHT
            stuck.close()  # what it held is released
            poll_until(lambda: server.answering == 0, what="the stuck answer released")
            history = client.request("history", channel="blobs")
            assert [h["value"][0] for h in history] == list("abcd")


class Blob:
    """A value whose copies can be counted."""

    __slots__ = ("__weakref__", "n")

    def __init__(self, n: int) -> None:
        self.n = n


def test_a_client_that_falls_behind_does_not_keep_the_apps_values_alive(
    socket_path: Path,
) -> None:
    """Every failing consumer's update was queued with its value, 10,000 per client: one
    panel that stopped reading took an app with 600 KB values from 93 to 893 MiB."""
    store = MapObjectStore(history_size=0)

    def failing(update: object) -> None:
        raise ValueError("cannot handle it")

    store.register_consumer("blobs", "picky", failing)
    producer = store.register_producer("blobs", "blob-service")
    alive: weakref.WeakSet[Blob] = weakref.WeakSet()
    with DebugServer(store, path=socket_path) as server:
        stuck = raw_connect(server.address)
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        send(stuck, hello(server.token))
        assert read_until(stuck, {"welcome"}) is not None
        logging.disable(logging.ERROR)  # 2,000 consumer errors in the log
        try:
            for n in range(2_000):
                blob = Blob(n)
                alive.add(blob)
                producer.publish(blob)
            del blob
        finally:
            logging.disable(logging.NOTSET)
        gc.collect()
        # the queue and the batch being written keep at most VALUES_QUEUED values each
        assert len(alive) <= 2 * _session.VALUES_QUEUED + 1
        notes = []
        while len(notes) < 1:
            message = read_until(stuck, {"event"})
            assert message is not None
            event = message["event"]
            if event["kind"] == "consumer_error" and "value left out" in event["message"]:
                assert event["update"]["value"] is None
                assert f"seq {event['update']['seq']}" in event["message"]
                notes.append(event)
        stuck.close()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_a_killed_app_not_yet_reaped_does_not_hold_its_name(tmp_path: Path, runtime: Path) -> None:
    """A zombie keeps its /proc entry and start time: its socket was taken as busy."""
    killed = AppProcess(private_dir(tmp_path / "first"), runtime)
    restarted: AppProcess | None = None
    try:
        killed.process.send_signal(signal.SIGKILL)  # not reaped: a zombie until wait()

        def zombie() -> bool:
            stat_text = Path(f"/proc/{killed.pid}/stat").read_text()
            return stat_text.rsplit(")", 1)[1].split()[0] == "Z"

        poll_until(zombie, what="the killed app is a zombie")
        restarted = AppProcess(private_dir(tmp_path / "second"), runtime)
        assert restarted.name == "app" and restarted.address == killed.address
    finally:
        killed.finish()
        if restarted is not None:
            restarted.finish(signal.SIGKILL)


def test_an_event_that_cannot_be_encoded_reaches_the_client_as_a_stub(
    socket_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stub once carried its update as a list: the client dropped the connection.

    No value is known to fail encoding any more (huge integers travel as text, see below),
    so the failure is forced: the guard must still hold if one ever does. The stub keeps
    the mirror in step (it names the producer), and a sync of its channel makes it exact.
    """
    from mapstore_core.debug import _session

    real = _session.event_to_json

    def failing(event: StoreEvent) -> dict[str, Any]:
        if event.kind == "registered" and event.detail is not None:
            raise ValueError("this event cannot be encoded")
        return real(event)

    monkeypatch.setattr(_session, "event_to_json", failing)
    store = MapObjectStore()
    with (
        DebugServer(store, path=socket_path) as server,
        Mirrored(server.address) as attached,
    ):
        create_widget_publisher("metric-data", "cpu-service", store=store)
        poll_until(lambda: "registered" in attached.kinds(), what="the registration's stub")
        [event] = [e for e in attached.events if e.kind == "registered"]
        assert event.message is not None and "could not be encoded" in event.message
        assert event.producer_id == "cpu-service" and event.detail is None
        poll_until(
            lambda: attached.mirror.producers() == store.producers(),
            what="the channel synced after the stub (validated, its kind)",
        )
        assert attached.client.request("channels") and attached.statuses == ["connected"]


def test_integers_too_long_for_json_travel_as_text_that_says_so(socket_path: Path) -> None:
    """Once, a stored 5,000-digit integer broke every `values` answer of its channel."""
    store = MapObjectStore()
    with (
        DebugServer(store, path=socket_path) as server,
        Mirrored(server.address) as attached,
    ):
        client = attached.client
        huge = store.register_producer("numbers", "huge")
        huge.publish(10**5000)  # over Python's own 4,300-digit limit for text
        long = store.register_producer("numbers", "long")
        long.publish({"id": -(10**150), "n": 10**99})
        fine = store.register_producer("numbers", "fine")
        fine.publish(7)
        values = client.request("values", channel="numbers")
        assert values["huge"] == "<int of about 5,001 digits, longer than JSON here carries>"
        assert values["long"] == {
            "id": "<int of about 151 digits, longer than JSON here carries>",
            "n": 10**99,  # 100 digits: within what readers accept, so a number
        }
        assert values["fine"] == 7
        history = client.request("history", channel="numbers")
        assert history[0]["value"] == values["huge"]
        poll_until(lambda: attached.mirror.values("numbers") == values, what="the mirror")
        assert client.request("channels")  # the connection is fine
        for handle in (huge, long, fine):
            handle.close()
    assert store.values("numbers") == {}
    assert store.history("numbers")[0].value == 10**5000  # the store keeps it as it was


def test_one_odd_value_never_breaks_an_answer_or_a_snapshot(socket_path: Path) -> None:
    store = MapObjectStore()
    cycle: list[object] = []
    cycle.append(cycle)
    deep: object = 1
    for _ in range(5_000):
        deep = [deep]
    odd = {"cycle": cycle, "bytes": b"\xff\x00", "key": {"\ud800": 1}, "deep": deep}
    for name, value in odd.items():
        store.register_producer("odd", name).publish(value)
    store.register_producer("odd", "fine").publish({"price": 1.5})
    with DebugServer(store, path=socket_path) as server, DebugClient(server.address) as client:
        values = client.request("values", channel="odd")
        assert values["fine"] == {"price": 1.5}  # the good value is whole
        assert values["key"] == {"\\ud800": 1}  # a key made visible, as on the wire
        for name in ("cycle", "bytes", "deep"):
            assert "that JSON cannot carry" in str(values[name]), (name, values[name])
        history = client.request("history", channel="odd")
        assert len(history) == 5
        snapshot = client.request("snapshot")
        assert snapshot["channels"]
    assert store.snapshot()["channels"]  # and in the app itself


class FakeServer:
    """A server that sends the welcome, a state and ``events`` in one write, then answers one
    request."""

    def __init__(self, socket_path: Path, events: list[object]) -> None:
        self.events = events
        self.listener = socket.socket(socket.AF_UNIX)
        self.listener.bind(str(socket_path))
        self.listener.listen(1)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        connection, _ = self.listener.accept()
        with connection, connection.makefile("rb") as stream:
            stream.readline()  # the hello
            lines: list[dict[str, Any]] = [
                {"type": "welcome", "protocol": "mapstore-debug", "version": 2},
                {"type": "state", "snapshot": MapObjectStore().snapshot()},
            ]
            lines += [{"type": "event", "event": event} for event in self.events]
            connection.sendall(b"".join(json.dumps(line).encode() + b"\n" for line in lines))
            line = stream.readline()
            if line:
                answer = {"type": "response", "id": json.loads(line)["id"], "result": ["a"]}
                connection.sendall(json.dumps(answer).encode() + b"\n")
                stream.readline()  # until the client closes

    def close(self) -> None:
        self.listener.close()
        self.thread.join(timeout=10)


GOOD = {"kind": "registered", "channel": "a", "producer_id": "p", "timestamp": 1.0}


def test_events_that_arrive_with_the_welcome_are_not_lost(socket_path: Path) -> None:
    """The handshake read through its own buffer, and dropped what came after the welcome."""
    server = FakeServer(socket_path, [GOOD])
    seen: list[StoreEvent] = []
    try:
        with DebugClient(
            f"unix:{socket_path}", token="t", on_event=seen.append, retry=None
        ) as client:
            assert client.request("channels") == ["a"]  # answered after the event
            assert [event.producer_id for event in seen] == ["p"]
    finally:
        server.close()


def test_events_of_another_shape_never_reach_the_callback(socket_path: Path) -> None:
    """What a server sends is hostile input too: wrong types reached the panel's handlers."""
    good = GOOD
    bad = [
        [1, 2],
        {**good, "channel": 123},
        {**good, "kind": "bogus"},
        {**good, "timestamp": "soon"},
        {**good, "producer_id": True},
        {**good, "update": [1]},
        {**good, "update": {"channel": "a", "producer_id": 5, "kind": "published",
                            "value": 1, "seq": 1, "timestamp": 1.0}},
        {**good, "diagnostic": {"rule": ["x"]}},
    ]  # fmt: skip
    server = FakeServer(socket_path, [*bad, good])
    seen: list[StoreEvent] = []
    statuses: list[str] = []
    try:
        with DebugClient(
            f"unix:{socket_path}",
            token="t",
            on_event=seen.append,
            on_status=statuses.append,
            retry=None,
        ) as client:
            assert client.request("channels") == ["a"]  # the connection stayed
            assert [event.producer_id for event in seen] == ["p"]
            assert statuses.count("resync") == len(bad) and "disconnected" not in statuses
    finally:
        server.close()


def test_ctrl_c_at_the_attach_prompt_is_no_traceback(tmp_path: Path, runtime: Path) -> None:
    apps = [AppProcess(private_dir(tmp_path / f"app{n}"), runtime) for n in range(2)]
    controller, terminal = pty.openpty()
    try:
        # Ctrl+C as in a terminal (a shell may start the tests with SIGINT ignored)
        run = (
            "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
            "from mapstore_tui.cli import main; sys.exit(main(['attach']))"
        )
        process = subprocess.Popen(
            [sys.executable, "-c", run],
            stdin=terminal,
            stdout=terminal,
            stderr=subprocess.PIPE,
            text=True,
        )
        seen = b""
        while b"app-2.sock" not in seen:  # the choice is offered on the terminal
            assert select.select([controller], [], [], 30)[0], seen
            chunk = os.read(controller, 4096)
            assert chunk, seen
            seen += chunk
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=15)
        assert "Traceback" not in err and process.returncode == 130, err
    finally:
        os.close(controller)
        os.close(terminal)
        for app in apps:
            app.finish(signal.SIGKILL)


def test_a_relative_socket_path_is_announced_absolute(tmp_path: Path) -> None:
    """``attach unix:run/app.sock`` works only in the app's directory."""
    private_dir(tmp_path / "run")
    previous = os.getcwd()
    os.chdir(tmp_path)
    try:
        server = DebugServer(MapObjectStore(), path="run/app.sock").start()
    finally:
        os.chdir(previous)
    try:
        assert server.address == f"unix:{tmp_path / 'run' / 'app.sock'}"
        with DebugClient(server.address) as client:  # from another directory
            assert client.welcome["type"] == "welcome"
    finally:
        server.stop()


def test_one_answer_in_parts_is_always_let_through(
    socket_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_session, "ANSWERS_IN_FLIGHT", 100_000)  # less than the answer
    store = MapObjectStore()
    producer = store.register_producer("blobs", "blob-service")
    for letter in "ab":
        producer.publish(letter * 600_000)
    with DebugServer(store, path=socket_path) as server, DebugClient(server.address) as client:
        assert [h["value"][0] for h in client.request("history", channel="blobs")] == ["a", "b"]


def test_a_fifo_as_token_file_is_refused_not_waited_on(
    tmp_path: Path, socket_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "token"
    os.mkfifo(fifo, 0o600)
    with DebugServer(MapObjectStore(), path=socket_path) as server:
        argv = ["snapshot", "--attach", server.address, "--token-file", str(fifo)]
        err = user_error(argv, capsys)
        assert "is not a regular file" in err


def test_ls_never_prints_control_characters(
    tmp_path: Path, runtime: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The program column is a command line: an escape sequence in it reached the terminal."""
    app = AppProcess(private_dir(tmp_path / "app"), runtime, script="x\x1b[2Jy.py")
    try:
        assert main(["ls"]) == 0
        out = capsys.readouterr().out
        assert "\x1b" not in out and "x\\x1b[2Jy.py" in out
    finally:
        app.finish(signal.SIGKILL)


def test_a_refusal_is_one_plain_line_whatever_the_endpoint_says(
    socket_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(socket_path))
    listener.listen(1)

    def refuse() -> None:
        connection, _ = listener.accept()
        with connection, connection.makefile("rb") as stream:
            stream.readline()
            refusal = {"type": "error", "code": "auth", "message": "no\nway\x1b[2J"}
            connection.sendall(json.dumps(refusal).encode() + b"\n")

    thread = threading.Thread(target=refuse, daemon=True)
    thread.start()
    try:
        err = user_error(["snapshot", "--attach", f"unix:{socket_path}", "--token", "t"], capsys)
        assert "no\\nway\\x1b[2J" in err and "\x1b" not in err
    finally:
        listener.close()
        thread.join(timeout=10)


def test_the_hint_of_a_tcp_demo_works_as_printed(runtime: Path) -> None:
    """A TCP endpoint has no token file beside it: the printed command carries the token."""
    demo = DemoProcess(None, "--port", "0")
    try:
        assert demo.process.stdout is not None
        hint = demo.process.stdout.readline().strip()
        token = demo.process.stdout.readline().strip().removeprefix("token: ")
        assert hint == f"attach with: mapstore-tui attach {demo.address} --token {token}"
        argv = hint.removeprefix("attach with: mapstore-tui attach ").split()
        out = subprocess.run(
            [sys.executable, "-m", "mapstore_tui", "log-producers", "--attach", *argv],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        assert "market-data-service" in out.stdout
    finally:
        demo.stop()


@pytest.mark.parametrize("command", ["log-producers", "snapshot"])
def test_piping_into_head_is_no_traceback(command: str) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "mapstore_tui", command, "--demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()
    process.stdout.close()  # like `| head -1`: the reader goes away
    err = process.stderr.read().decode()
    process.stderr.close()
    assert process.wait(timeout=60) in (0, 141)  # 0: everything fitted in the pipe first
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def test_a_directory_as_token_file_is_refused_in_one_line(
    tmp_path: Path, socket_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A directory cannot even be opened as a stream: it was a traceback (IsADirectoryError)."""
    directory = tmp_path / "tokens"
    directory.mkdir(mode=0o700)
    with DebugServer(MapObjectStore(), path=socket_path) as server:
        argv = ["snapshot", "--attach", server.address, "--token-file", str(directory)]
        err = user_error(argv, capsys)
        assert "is not a regular file" in err and "Traceback" not in err
