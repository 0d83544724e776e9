"""A hostile local client against a real app: a readable refusal every time, never a traceback."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from mapstore_core import DebugAuthError, DebugClient
from tests.poll import poll_until

from .helpers import AppProcess, raw_connect, read_message, read_until, send

HUGE = b"1" + b"0" * 5_000


@pytest.fixture
def app(tmp_path: Path, runtime: Path) -> Iterator[AppProcess]:
    process = AppProcess(tmp_path, runtime)
    yield process
    process.finish()
    # Nothing any test did to the endpoint printed anything in the app.
    assert "Traceback" not in process.stderr and "Unhandled" not in process.stderr, process.stderr


def token_line(app: AppProcess) -> bytes:
    return b'{"type":"hello","protocol":"mapstore-debug","version":2,"token":"%s"}\n' % (
        app.token.encode()
    )


@pytest.mark.parametrize(
    ("line", "code", "reason"),
    [
        # 1. a lone surrogate in the token, before auth
        (
            b'{"type":"hello","protocol":"mapstore-debug","version":2,"token":"\\ud800"}\n',
            "auth",
            "wrong or missing token",
        ),
        # 2. huge integers, before auth
        (
            b'{"type":"hello","protocol":"mapstore-debug","version":' + HUGE + b',"token":"x"}\n',
            "protocol",
            "digits",
        ),
        (b'{"type":"hello","id":' + HUGE + b"}\n", "protocol", "digits"),
        (b'{"type":"hello","x":1e999999}\n', "protocol", "not accepted"),
        # strict version: the integer 2 only; an older client is told so
        (b'{"type":"hello","protocol":"mapstore-debug","version":true}\n', "version", ""),
        (b'{"type":"hello","protocol":"mapstore-debug","version":2.0}\n', "version", ""),
        (b'{"type":"hello","protocol":"mapstore-debug","version":1,"token":"x"}\n', "version",
         "speaks version 2"),
        # a hello over 64 KiB
        (b'{"type":"hello","pad":"' + b"a" * 70_000 + b'"}\n', "protocol", "65,536-byte limit"),
        (b"\xff\xfe\n", "protocol", "UTF-8"),
    ],
    ids=["surrogate-token", "huge-version", "huge-id", "huge-float", "version-true",
         "version-float", "version-1", "big-hello", "not-utf8"],
)  # fmt: skip
def test_bad_hellos_get_a_readable_refusal(
    app: AppProcess, line: bytes, code: str, reason: str
) -> None:
    with raw_connect(app.address) as sock:
        send(sock, line)
        reply = read_message(sock)
        assert reply is not None and reply["type"] == "error", reply
        assert reply["code"] == code and reason in reply["message"]
        assert read_message(sock) is None
    with DebugClient(app.address) as client:  # the app serves on
        assert "heartbeat" in [c["name"] for c in client.request("channels")]


@pytest.mark.parametrize(
    ("line", "answer"),
    [
        # 3. a surrogate in params: the error reply carries it escaped; the connection stays
        (b'{"type":"request","id":7,"method":"channels","params":{"\\ud800":1}}\n', "\\ud800"),
        # params must be an object
        (b'{"type":"request","id":7,"method":"channels","params":[]}\n', "must be an object"),
        (b'{"type":"request","id":7,"method":"channels","params":0}\n', "must be an object"),
        (b'{"type":"request","id":7,"method":"channels","params":""}\n', "must be an object"),
        (b'{"type":"request","id":7,"method":"channels","params":false}\n', "must be an object"),
        (b'{"type":"request","id":7,"method":5}\n', "string 'method'"),
        (b'{"type":"request","id":7,"method":"history","params":{"channel":"heartbeat",'
         b'"limit":' + b"9" * 90 + b"}}\n", None),
        (b'{"type":"request","id":7,"method":"\\udc80"}\n', "unknown method '\\udc80'"),
    ],
    ids=["surrogate-param", "list", "zero", "empty-string", "false", "method-number",
         "big-limit", "surrogate-method"],
)  # fmt: skip
def test_bad_requests_get_an_answer_and_keep_the_connection(
    app: AppProcess, line: bytes, answer: str | None
) -> None:
    with raw_connect(app.address) as sock:
        send(sock, token_line(app))
        assert read_message(sock)["type"] == "welcome"  # type: ignore[index]
        send(sock, line)
        reply = read_until(sock, {"response", "error"})
        assert reply is not None and reply["type"] == "response" and reply["id"] == 7
        if answer is None:
            assert "result" in reply
        else:
            assert answer in reply["error"]
        send(sock, {"type": "request", "id": 8, "method": "channels"})
        again = read_until(sock, {"response", "error"})
        assert again is not None and again["id"] == 8 and again["result"]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b'{"type":"request","id":' + HUGE + b',"method":"channels"}\n', "digits"),
        (b'{"type":"request","id":true,"method":"channels"}\n', "integer 'id'"),
    ],
    ids=["huge-id", "bool-id"],
)
def test_requests_without_a_usable_id_close_with_an_error(
    app: AppProcess, line: bytes, reason: str
) -> None:
    with raw_connect(app.address) as sock:
        send(sock, token_line(app))
        assert read_message(sock)["type"] == "welcome"  # type: ignore[index]
        send(sock, line)
        reply = read_until(sock, {"error"})
        assert reply is not None and reply["code"] == "protocol" and reason in reply["message"]


def can_attach(app: AppProcess) -> bool:
    try:
        with DebugClient(app.address, token=app.token, retry=None) as client:
            return bool(client.request("channels"))
    except DebugAuthError:  # busy: the attackers' connections are still being closed
        return False


def test_idle_connections_never_starve_the_app_of_files(tmp_path: Path, runtime: Path) -> None:
    """8. 300 idle unauthenticated TCP connections with an open-file limit of 256."""
    app = AppProcess(tmp_path, runtime, serve={"port": 0}, nofile=256)
    connections: list[socket.socket] = []
    try:
        host, port = app.address.removeprefix("tcp://").rsplit(":", 1)
        for _ in range(300):
            sock = socket.create_connection((host, int(port)), timeout=10)
            connections.append(sock)
        # Every connection is answered: the ones over the cap at once, the rest at the
        # hello deadline; meanwhile the app's own open() works.
        assert app.ask("open") == "ok"
        codes = set()
        for sock in connections:
            reply = read_message(sock)
            assert reply is not None and reply["type"] == "error"
            codes.add(reply["code"])
        assert codes == {"busy", "timeout"}  # over the cap at once; the others at the deadline
        assert app.ask("open") == "ok"
        for sock in connections:
            sock.close()
        poll_until(lambda: can_attach(app), what="a real client to be served again")
    finally:
        for sock in connections:
            sock.close()
        app.exit()
    assert "Traceback" not in app.stderr, app.stderr


def test_unfinished_hellos_cannot_swell_the_app(tmp_path: Path, runtime: Path) -> None:
    """8. 100 connections each sending ~1 MB of a hello that never ends."""
    app = AppProcess(tmp_path, runtime)
    connections: list[socket.socket] = []
    try:
        before = app.ask("rss")
        chunk = b'{"type":"hello","pad":"' + b"a" * 1_000_000
        for _ in range(100):
            sock = raw_connect(app.address)
            connections.append(sock)
            try:
                sock.sendall(chunk)
            except OSError:
                pass  # refused (and closed) before it finished sending
        for sock in connections:
            reply = read_message(sock)
            assert reply is not None and reply["code"] in {"protocol", "busy"}, reply
        grown_kib = app.ask("rss") - before  # peak resident size, KiB on Linux
        assert grown_kib < 30 * 1024, f"the app grew by {grown_kib} KiB"
    finally:
        for sock in connections:
            sock.close()
        app.exit()
    assert "Traceback" not in app.stderr, app.stderr


def test_two_hundred_simultaneous_connects(app: AppProcess) -> None:
    """More than 100 connects at once: none fails with EAGAIN; each gets a reply."""
    connections = []
    try:
        for _ in range(200):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.setblocking(False)  # a full backlog would fail at once (EAGAIN)
            sock.connect(str(app.socket))
            connections.append(sock)
        welcomed = 0
        for sock in connections:
            sock.setblocking(True)
            sock.settimeout(10)
            with contextlib.suppress(BrokenPipeError):  # refused at once: the reply waits
                send(sock, token_line(app))
            reply = read_message(sock)
            assert reply is not None and reply["type"] in {"welcome", "error"}, reply
            welcomed += reply["type"] == "welcome"
            if reply["type"] == "error":
                assert reply["code"] == "busy"
        assert welcomed >= 1
    finally:
        for sock in connections:
            sock.close()


def test_the_number_of_clients_is_capped(tmp_path: Path, runtime: Path) -> None:
    app = AppProcess(tmp_path, runtime, serve={"max_clients": 1})
    try:
        with DebugClient(app.address) as first:
            with pytest.raises(DebugAuthError, match=r"\(busy\): 1 clients"):
                DebugClient(app.address, retry=None).connect()
            assert first.request("channels")
        with DebugClient(app.address) as second:  # the place is free again
            assert second.request("channels")
    finally:
        app.exit()
    assert "Traceback" not in app.stderr
