from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import weakref
from pathlib import Path
from typing import Any

from mapstore_core import DebugClient, StoreEvent, StoreMirror


def raw_connect(address: str) -> socket.socket:
    if address.startswith("unix:"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        target: Any = address[5:]
    else:
        assert address.startswith("tcp://")
        host, _, port = address[6:].rpartition(":")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        target = (host, int(port))
    sock.settimeout(10)
    sock.connect(target)
    return sock


def send(sock: socket.socket, message: dict[str, Any] | bytes) -> None:
    data = message if isinstance(message, bytes) else json.dumps(message).encode() + b"\n"
    sock.sendall(data)


_buffers: weakref.WeakKeyDictionary[socket.socket, bytearray] = weakref.WeakKeyDictionary()


def read_message(sock: socket.socket) -> dict[str, Any] | None:
    """One message, or None when the server closed the connection."""
    buffer = _buffers.setdefault(sock, bytearray())
    while (end := buffer.find(b"\n")) < 0:
        try:
            chunk = sock.recv(65_536)
        except ConnectionResetError:
            return None
        if not chunk:
            return None
        buffer += chunk
    line = bytes(buffer[: end + 1])
    del buffer[: end + 1]
    message: dict[str, Any] = json.loads(line)
    return message


def read_until(sock: socket.socket, kinds: set[str]) -> dict[str, Any] | None:
    """Skip other messages (the state, events, ticks) until one of ``kinds`` (None: closed)."""
    while True:
        message = read_message(sock)
        if message is None or message["type"] in kinds:
            return message


def welcomed(sock: socket.socket, token: str) -> dict[str, Any]:
    """Say hello; return the state that follows the welcome (read whole, parts joined)."""
    send(sock, hello(token))
    welcome = read_message(sock)
    assert welcome is not None and welcome["type"] == "welcome", welcome
    return read_state(sock)


def read_state(sock: socket.socket, kind: str = "state") -> dict[str, Any]:
    """The next ``state`` (or ``sync``) message's snapshot, its parts joined."""
    pieces: list[str] = []
    while True:
        message = read_until(sock, {kind})
        assert message is not None, f"the server closed before the {kind}"
        if "part" not in message:
            snapshot: dict[str, Any] = message["snapshot"]
            return snapshot
        pieces.append(message["data"])
        if message["part"] == message["parts"] - 1:
            joined: dict[str, Any] = json.loads("".join(pieces))
            return joined


class Mirrored:
    """A ``DebugClient`` feeding a ``StoreMirror``, as an attached panel does; it keeps what
    it was told (events, syncs, statuses) for the test to look at."""

    def __init__(self, address: str, **options: Any) -> None:
        self.mirror = StoreMirror()
        self.events: list[StoreEvent] = []
        self.syncs: list[dict[str, Any]] = []
        self.statuses: list[str] = []
        self.client = DebugClient(
            address,
            on_event=self._event,
            on_state=self._state,
            on_status=self.statuses.append,
            **options,
        )

    def _event(self, event: StoreEvent) -> None:
        self.events.append(event)
        self.mirror.apply(event)

    def _state(self, snapshot: dict[str, Any], partial: bool) -> None:
        if partial:
            self.syncs.append(snapshot)
            self.mirror.merge(snapshot)
        else:
            self.mirror.reset(snapshot)

    def kinds(self) -> list[str]:
        return [event.kind for event in self.events]

    def __enter__(self) -> Mirrored:
        self.client.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()


def hello(token: str | None, **overrides: Any) -> dict[str, Any]:
    return {
        "type": "hello",
        "protocol": "mapstore-debug",
        "version": 2,
        "token": token,
        **overrides,
    }


def private_dir(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def stop_process(process: subprocess.Popen[str], sig: int = signal.SIGINT) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class DemoProcess:
    """``mapstore-tui serve-demo`` in a child process."""

    def __init__(self, socket: Path | None, *extra: str, env: dict[str, str] | None = None) -> None:
        self.socket = socket
        where = ["--socket", str(socket)] if socket is not None else []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mapstore_tui", "serve-demo", "--seed", "1", *where, *extra],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.process.stdout is not None
        first = self.process.stdout.readline()
        assert first.startswith("mapstore debug endpoint: "), first
        self.address = first.split(": ", 1)[1].strip()

    def stop(self, sig: int = signal.SIGINT) -> None:
        stop_process(self.process, sig)
        if self.process.stdout is not None:
            self.process.stdout.close()


APP = textwrap.dedent(
    """
    import json, os, resource, sys
    from mapstore_core import MapObjectStore

    limit = os.environ.get("APP_NOFILE")
    if limit:
        resource.setrlimit(resource.RLIMIT_NOFILE, (int(limit), int(limit)))
    store = MapObjectStore()
    server = store.serve_debug(announce=False, **json.loads(os.environ.get("APP_SERVE", "{}")))
    producer = store.register_producer("heartbeat", "heartbeat-service")
    print(json.dumps({"address": server.address, "name": server.name, "token": server.token,
                      "pid": os.getpid()}), flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "open":  # the app's own files still open
            try:
                files = [open(os.devnull) for _ in range(50)]
                for f in files:
                    f.close()
                answer = "ok"
            except OSError as exc:
                answer = str(exc)
        elif command == "rss":
            answer = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        elif command == "publish":
            producer.publish({"n": 1})
            answer = "ok"
        elif command == "exit":
            break
        else:
            answer = "unknown"
        print(json.dumps(answer), flush=True)
    """
)


class AppProcess:
    """An app (``app.py``) in a child process that calls ``store.serve_debug()``.

    It answers commands on stdin (``open``, ``rss``, ``publish``, ``exit``); its stderr is
    kept to check that nothing a client did printed a traceback.
    """

    def __init__(
        self,
        directory: Path,
        runtime: Path,
        *,
        script: str = "app.py",
        serve: dict[str, Any] | None = None,
        nofile: int | None = None,
    ) -> None:
        program = directory / script
        program.write_text(APP)
        env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "APP_SERVE": json.dumps(serve or {})}
        env.pop("MAPSTORE_DEBUG_TOKEN", None)
        if nofile is not None:
            env["APP_NOFILE"] = str(nofile)
        self.process = subprocess.Popen(
            [sys.executable, str(program)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=directory,
        )
        assert self.process.stdout is not None
        first = self.process.stdout.readline()
        if not first:
            raise AssertionError(f"the app did not start: {self.process.stderr.read()}")  # type: ignore[union-attr]
        info = json.loads(first)
        self.address: str = info["address"]
        self.name: str = info["name"]
        self.token: str = info["token"]
        self.pid: int = info["pid"]
        self.stderr = ""

    @property
    def socket(self) -> Path:
        return Path(self.address.removeprefix("unix:"))

    def ask(self, command: str) -> Any:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def exit(self) -> None:
        """A normal exit (the script's loop ends)."""
        assert self.process.stdin is not None
        self.process.stdin.write("exit\n")
        self.process.stdin.flush()
        self.finish()

    def finish(self, sig: int | None = None) -> None:
        if sig is not None and self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            _, self.stderr = self.process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, self.stderr = self.process.communicate()
