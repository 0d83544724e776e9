"""``DebugClient``: a blocking client of a ``DebugServer``, with reconnection.

Requests are sent from the caller's thread and answered through a reader thread, which
also delivers events (``on_event``) and connection changes (``on_status``: ``"connected"``,
``"disconnected"``, ``"resync"`` after lost events). When the app stops, the client keeps
trying to reconnect every ``retry`` seconds until ``close()``.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mapstore_core._errors import (
    DebugAuthError,
    DebugConnectionError,
    DebugProtocolError,
    DebugRequestError,
)
from mapstore_core._records import StoreEvent
from mapstore_core.remote._wire import (
    PROTOCOL,
    VERSION,
    decode,
    encode,
    event_from_dict,
)

__all__ = [
    "DebugAuthError",
    "DebugClient",
    "DebugConnectionError",
    "DebugRequestError",
    "read_token",
]


def read_token(address: str) -> str | None:
    """The token written next to a Unix socket (``<socket>.token``), if readable."""
    if not address.startswith("unix:"):
        return None
    path = Path(address[5:])
    try:
        return path.with_name(path.name + ".token").read_text().strip()
    except OSError:
        return None


def _connect(address: str, timeout: float) -> socket.socket:
    if address.startswith("unix:"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        target: Any = address[5:]
    elif address.startswith("tcp://"):
        host, _, port = address[6:].rpartition(":")
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        target = (host.strip("[]"), int(port))
    else:
        raise ValueError(f"an address is 'unix:PATH' or 'tcp://HOST:PORT', not {address!r}")
    sock.settimeout(timeout)
    try:
        sock.connect(target)
    except OSError as exc:
        sock.close()
        raise DebugConnectionError(f"cannot reach {address}: {exc}") from exc
    return sock


class DebugClient:
    """Talks to one debug endpoint.

    Args:
        address: ``unix:PATH`` or ``tcp://HOST:PORT``.
        token: The endpoint's token (default: ``$MAPSTORE_DEBUG_TOKEN``, else the file next to
            the socket, read at each connection).
        on_event: Called with each ``StoreEvent`` (values are JSON data), on the reader thread.
        on_status: Called with ``"connected"``, ``"disconnected"`` or ``"resync"``.
        timeout: Seconds to wait for a connection or an answer.
        retry: Seconds between reconnection attempts (None: do not reconnect).
    """

    def __init__(
        self,
        address: str,
        *,
        token: str | None = None,
        on_event: Callable[[StoreEvent], object] | None = None,
        on_status: Callable[[str], object] | None = None,
        timeout: float = 5.0,
        retry: float | None = 1.0,
    ) -> None:
        self.address = address
        # A token from the file next to the socket is read again on every (re)connection:
        # a restarted app writes a new one.
        self._given_token = token or os.environ.get("MAPSTORE_DEBUG_TOKEN")
        self.on_event = on_event
        self.on_status = on_status
        self.timeout = timeout
        self.retry = retry
        self.welcome: dict[str, Any] = {}
        self._sock: socket.socket | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, tuple[threading.Event, list[dict[str, Any]]]] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._reader: threading.Thread | None = None

    @property
    def connected(self) -> bool:
        """Whether a connection is up."""
        return self._sock is not None

    def connect(self) -> DebugClient:
        """Connect and handshake, then start reading in the background.

        Raises:
            DebugConnectionError: nothing listens there.
            DebugAuthError: the token or protocol version was refused.
        """
        self._handshake()
        self._reader = threading.Thread(target=self._read_loop, name="mapstore-attach", daemon=True)
        self._reader.start()
        return self

    def _handshake(self) -> None:
        sock = _connect(self.address, self.timeout)
        try:
            token = self._given_token or read_token(self.address)
            sock.sendall(
                encode({"type": "hello", "protocol": PROTOCOL, "version": VERSION, "token": token})
            )
            reply = decode(self._readline(sock.makefile("rb")))
        except (OSError, DebugProtocolError) as exc:
            sock.close()
            raise DebugConnectionError(f"handshake with {self.address} failed: {exc}") from exc
        if reply.get("type") != "welcome":
            sock.close()
            code, message = reply.get("code"), reply.get("message")
            raise DebugAuthError(f"{self.address} refused the connection ({code}): {message}")
        sock.settimeout(None)
        self.welcome = reply
        self._sock = sock

    @staticmethod
    def _readline(stream: Any) -> bytes:
        line: bytes = stream.readline()
        if not line:
            raise DebugConnectionError("the endpoint closed the connection")
        return line

    def _read_loop(self) -> None:
        while not self._closed.is_set():
            sock = self._sock
            if sock is not None:
                self._status("connected")
                self._pump(sock)
                self._drop_connection()
                self._status("disconnected")
            if self.retry is None or self._closed.wait(self.retry):
                return
            with contextlib.suppress(DebugConnectionError, DebugAuthError):
                self._handshake()

    def _pump(self, sock: socket.socket) -> None:
        stream = sock.makefile("rb")
        with contextlib.suppress(OSError, DebugConnectionError, DebugProtocolError):
            while True:
                message = decode(self._readline(stream))
                kind = message["type"]
                if kind == "response":
                    self._answered(message)
                elif kind == "event" and self.on_event is not None:
                    self.on_event(event_from_dict(message.get("event") or {}))
                elif kind == "dropped":
                    self._status("resync")
                elif kind == "error":
                    return

    def _answered(self, message: dict[str, Any]) -> None:
        with self._lock:
            waiter = self._pending.pop(message.get("id", -1), None)
        if waiter is not None:
            waiter[1].append(message)
            waiter[0].set()

    def _drop_connection(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()
        with self._lock:
            waiting, self._pending = self._pending, {}
        for done, _ in waiting.values():
            done.set()  # the request sees no answer and raises

    def _status(self, status: str) -> None:
        if self.on_status is not None:
            self.on_status(status)

    def request(self, method: str, **params: Any) -> Any:
        """Ask the endpoint; returns the result.

        Raises:
            DebugConnectionError: not connected, or the connection dropped meanwhile.
            DebugRequestError: the endpoint answered with an error.
        """
        sock = self._sock
        if sock is None:
            raise DebugConnectionError(f"not connected to {self.address}")
        request_id = next(self._ids)
        done = threading.Event()
        answer: list[dict[str, Any]] = []
        with self._lock:
            self._pending[request_id] = (done, answer)
        try:
            sock.sendall(
                encode({"type": "request", "id": request_id, "method": method, "params": params})
            )
        except OSError as exc:
            raise DebugConnectionError(f"lost {self.address}: {exc}") from exc
        if not done.wait(self.timeout) or not answer:
            with self._lock:
                self._pending.pop(request_id, None)
            raise DebugConnectionError(f"no answer from {self.address} to {method!r}")
        reply = answer[0]
        if "error" in reply:
            raise DebugRequestError(f"{method}: {reply['error']}")
        return reply.get("result")

    def close(self) -> None:
        """Disconnect and stop reconnecting."""
        self._closed.set()
        sock = self._sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if self._reader is not None and self._reader is not threading.current_thread():
            self._reader.join(timeout=5)
        self._drop_connection()

    def __enter__(self) -> DebugClient:
        return self.connect()

    def __exit__(self, *exc: object) -> None:
        self.close()
