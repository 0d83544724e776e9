"""``DebugClient``: a blocking client of a ``DebugServer``, with reconnection.

Requests are sent from the caller's thread and answered through a reader thread, which
also delivers events (``on_event``) and connection changes (``on_status``: ``"connected"``,
``"disconnected"``, ``"resync"`` after lost events). When the app stops, the client keeps
trying to reconnect every ``retry`` seconds until ``close()``.

The client trusts only its own user: on a Unix socket it checks the peer's uid before it
sends the token, and it reads a token file only if the user owns it and nobody else can read
it (``read_token``).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from mapstore_core._errors import (
    DebugAuthError,
    DebugConnectionError,
    DebugProtocolError,
    DebugRequestError,
)
from mapstore_core._events import StoreEvent
from mapstore_core.debug import _endpoints
from mapstore_core.debug._wire import (
    MAX_ANSWER_BYTES,
    MAX_MESSAGE_BYTES,
    PROTOCOL,
    VERSION,
    decode,
    encode,
    event_from_dict,
    loads,
)

__all__ = ["DebugClient", "read_token", "read_token_file"]


def read_token(address: str) -> str | None:
    """The token written next to a Unix socket (``<socket>.token``); None if there is none.

    Raises:
        DebugAuthError: the file is a symlink, another user's, or readable by others.
    """
    if not address.startswith("unix:"):
        return None
    path = Path(address[5:])
    return _endpoints.read_private(_endpoints.companions(path)[0]) or None


def read_token_file(path: str | os.PathLike[str]) -> str:
    """A token from a file the user owns and nobody else can read (``--token-file``).

    Raises:
        DebugAuthError: missing, empty, a symlink, another user's, or readable by others.
    """
    token = _endpoints.read_private(Path(path))
    if not token:
        raise DebugAuthError(f"no token in {path}")
    return token


def _connect(address: str, timeout: float) -> socket.socket:
    if address.startswith("unix:"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        target: Any = address[5:]
    else:
        host, _, port = address[6:].rpartition(":")
        host = host.strip("[]")
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        target = (host, int(port))
    sock.settimeout(timeout)
    try:
        sock.connect(target)
    except (OSError, OverflowError) as exc:
        sock.close()
        reason = getattr(exc, "strerror", None) or exc
        raise DebugConnectionError(f"cannot reach {address}: {reason}") from exc
    if address.startswith("unix:"):
        _check_peer(sock, address)
    return sock


def _check_peer(sock: socket.socket, address: str) -> None:
    """Refuse an endpoint that another user runs, before anything is sent to it."""
    try:
        _, uid = _endpoints.peer_credentials(sock)
    except OSError:
        uid = None
    if uid is None:  # no peer credentials here: trust only a socket in a private dir of ours
        try:
            _endpoints.private_directory(Path(address[5:]).parent, create=False)
        except OSError as exc:
            sock.close()
            raise DebugAuthError(f"not sending a token to {address}: {exc}") from exc
    elif uid != os.getuid():
        sock.close()
        raise DebugAuthError(
            f"{address} is served by another user (uid {uid}); not sending the token"
        )


class DebugClient:
    """Talks to one debug endpoint.

    Args:
        address: ``unix:PATH``, ``tcp://HOST:PORT``, a path, ``HOST:PORT``, or the name of a
            live endpoint (``mapstore-tui ls``).
        token: The endpoint's token. Without it: ``token_file``, else the file next to the
            socket (read at each connection: a restarted app writes a new one), else
            ``$MAPSTORE_DEBUG_TOKEN`` if ``env_token``.
        token_file: A file holding the token (yours, mode 0600).
        env_token: Whether ``$MAPSTORE_DEBUG_TOKEN`` may be sent (turn it off for an address
            the user did not name).
        on_event: Called with each ``StoreEvent`` (values are JSON data), on the reader thread.
        on_status: Called with ``"connected"``, ``"disconnected"`` or ``"resync"``.
        timeout: Seconds to wait for a connection or an answer.
        retry: Seconds between reconnection attempts (None: do not reconnect).

    Raises:
        DebugAddressError: the address is malformed or names no live endpoint.
    """

    def __init__(
        self,
        address: str,
        *,
        token: str | None = None,
        token_file: str | os.PathLike[str] | None = None,
        env_token: bool = True,
        on_event: Callable[[StoreEvent], object] | None = None,
        on_status: Callable[[str], object] | None = None,
        timeout: float = 5.0,
        retry: float | None = 1.0,
    ) -> None:
        self.address = _endpoints.resolve_address(address)
        self._given_token = token
        self._token_file = token_file
        self._env_token = env_token
        self.on_event = on_event
        self.on_status = on_status
        self.timeout = timeout
        self.retry = retry
        self.welcome: dict[str, Any] = {}
        self._sock: socket.socket | None = None
        self._stream: BinaryIO | None = None
        """The connection's one buffered reader: what came with the welcome is read from it."""
        self._ids = itertools.count(1)
        self._pending: dict[int, tuple[threading.Event, list[dict[str, Any]]]] = {}
        self._parts: dict[int, list[str]] = {}
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
            DebugAuthError: the token or protocol version was refused, or the endpoint or the
                token file is not this user's.
        """
        self._handshake()
        self._reader = threading.Thread(target=self._read_loop, name="mapstore-attach", daemon=True)
        self._reader.start()
        return self

    def _token(self) -> str | None:
        if self._given_token:
            return self._given_token
        if self._token_file is not None:
            return read_token_file(self._token_file)
        from_file = read_token(self.address)
        if from_file:
            return from_file
        return os.environ.get("MAPSTORE_DEBUG_TOKEN") if self._env_token else None

    def _handshake(self) -> None:
        token = self._token()
        sock = _connect(self.address, self.timeout)
        stream = sock.makefile("rb")  # its fd stays open until both are closed
        try:
            sock.sendall(
                encode({"type": "hello", "protocol": PROTOCOL, "version": VERSION, "token": token})
            )
            reply = decode(self._readline(stream))
        except (OSError, DebugProtocolError, DebugConnectionError) as exc:
            stream.close()
            sock.close()
            raise DebugConnectionError(f"handshake with {self.address} failed: {exc}") from exc
        if reply.get("type") != "welcome":
            stream.close()
            sock.close()
            code, message = reply.get("code"), reply.get("message")
            raise DebugAuthError(f"{self.address} refused the connection ({code}): {message}")
        sock.settimeout(None)
        self.welcome = reply
        self._stream = stream
        self._sock = sock

    @staticmethod
    def _readline(stream: Any) -> bytes:
        line: bytes = stream.readline(MAX_MESSAGE_BYTES + 1)
        if not line:
            raise DebugConnectionError("the endpoint closed the connection")
        if not line.endswith(b"\n"):
            raise DebugProtocolError("the endpoint sent a message over the limit")
        return line

    def _read_loop(self) -> None:
        while not self._closed.is_set():
            sock = self._sock
            if sock is not None:
                self._status("connected")
                self._pump(self._stream)
                self._drop_connection()
                self._status("disconnected")
            if self.retry is None or self._closed.wait(self.retry):
                return
            with contextlib.suppress(DebugConnectionError, DebugAuthError):
                self._handshake()

    def _pump(self, stream: BinaryIO | None) -> None:
        if stream is None:
            return
        with contextlib.suppress(OSError, DebugConnectionError, DebugProtocolError):
            while True:
                message = decode(self._readline(stream))
                kind = message["type"]
                if kind == "response":
                    self._answered(message)
                elif kind == "event" and self.on_event is not None:
                    try:
                        event = event_from_dict(message.get("event"))
                    except DebugProtocolError:  # skipped; the view reads the store afresh
                        self._status("resync")
                        continue
                    self.on_event(event)
                elif kind == "dropped":
                    self._status("resync")
                elif kind == "error":
                    return

    def _answered(self, message: dict[str, Any]) -> None:
        request_id = message.get("id", -1)
        if "part" in message:
            whole = self._part(request_id, message)
            if whole is None:
                return
            message = whole
        with self._lock:
            waiter = self._pending.pop(request_id, None)
        if waiter is not None:
            waiter[1].append(message)
            waiter[0].set()

    def _part(self, request_id: Any, message: dict[str, Any]) -> dict[str, Any] | None:
        """Collect an answer sent in parts; the whole answer once its last part is in."""
        part, parts, data = message.get("part"), message.get("parts"), message.get("data")
        if not (type(part) is int and type(parts) is int and isinstance(data, str)):
            raise DebugProtocolError("a malformed part of an answer")
        with self._lock:
            if request_id not in self._pending:
                self._parts.pop(request_id, None)
                return None
            pieces = self._parts.setdefault(request_id, [])
            if part != len(pieces) or part >= parts:
                raise DebugProtocolError("parts of an answer out of order")
            pieces.append(data)
            if sum(len(p) for p in pieces) > MAX_ANSWER_BYTES:
                raise DebugProtocolError("an answer over the size limit")
            if part < parts - 1:
                return None
            del self._parts[request_id]
        return {"type": "response", "id": request_id, "result": loads("".join(pieces))}

    def _drop_connection(self) -> None:
        sock, self._sock = self._sock, None
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()
        with self._lock:
            waiting, self._pending = self._pending, {}
            self._parts.clear()
        for done, _ in waiting.values():
            done.set()  # the request sees no answer and raises

    def _status(self, status: str) -> None:
        if self.on_status is not None:
            self.on_status(status)

    def request(self, method: str, **params: Any) -> Any:
        """Ask the endpoint; returns the result.

        Raises:
            DebugConnectionError: not connected, or the connection dropped meanwhile.
            DebugRequestError: the endpoint answered with an error (the connection stays).
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
        except (OSError, DebugProtocolError) as exc:
            with self._lock:
                self._pending.pop(request_id, None)
            if isinstance(exc, DebugProtocolError):
                raise DebugRequestError(f"{method}: {exc}") from exc
            raise DebugConnectionError(f"lost {self.address}: {exc}") from exc
        if not done.wait(self.timeout) or not answer:
            with self._lock:
                self._pending.pop(request_id, None)
                self._parts.pop(request_id, None)
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
