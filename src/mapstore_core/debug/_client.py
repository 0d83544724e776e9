"""``DebugClient``: a blocking client of a ``DebugServer``, with reconnection.

``connect()`` handshakes and reads the store's ``state`` (delivered to ``on_state``), then a
reader thread delivers what follows: events (``on_event``), syncs of the channels whose
publishes were coalesced (``on_state``, partial) and connection changes (``on_status``);
requests are sent from the caller's thread and answered through the reader. Feed a
``StoreMirror`` from ``on_state`` and ``on_event`` and it answers what the app's store does.

The reader thread never dies of a callback: one that raises is logged (logger
``mapstore_core.debug``) and reading goes on. It tells a frozen app from a quiet one: the
endpoint sends a ``tick`` each second it has nothing else to say, so ``silence`` seconds
without a message mean the app does not respond (``"unresponsive"``, then ``"connected"``
again when it does). When the connection drops, the client reconnects every ``retry``
seconds until ``close()``.

The client trusts only its own user: on a Unix socket it checks the peer's uid before it
sends the token, and it reads a token file only if the user owns it and nobody else can read
it (``read_token``).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import re
import selectors
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from mapstore_core._errors import (
    DebugAuthError,
    DebugConnectionError,
    DebugProtocolError,
    DebugRequestError,
)
from mapstore_core._events import EVENT_FORMAT, StoreEvent
from mapstore_core._public import public
from mapstore_core.debug import _endpoints
from mapstore_core.debug._wire import (
    MAX_MESSAGE_BYTES,
    MAX_STATE_BYTES,
    PROTOCOL,
    SNAPSHOT_TYPES,
    VERSION,
    Assembler,
    decode,
    encode,
    event_from_dict,
)

__all__ = ["ClientStatus", "DebugClient", "read_token", "read_token_file"]

logger = logging.getLogger("mapstore_core.debug")

READ_CHUNK = 65_536
MAX_DETAIL_CHARS = 2_000
_CODE = re.compile(r"[a-z_]{1,20}")


class ClientStatus(str):
    """A ``DebugClient``'s status: a ``str`` (compare it with ``"connected"``), and why.

    ``"connected"``: the app answers. ``"unresponsive"``: connected, but nothing came for
    ``silence`` seconds (the app is stopped or frozen; reads of a mirror still answer).
    ``"disconnected"``: the connection is gone; the client reconnects. ``"refused"``: a
    reconnection was refused by the endpoint (its ``code`` and words are in ``detail``).
    ``"resync"``: events were lost; the fresh state that replaces them has been delivered.
    """

    code: str
    """The endpoint's error code (``auth``, ``busy``, ``version``, ``protocol``,
    ``timeout``, ``internal``) when it refused or ended the connection, else ``""``."""
    detail: str
    """Why, in words for a person (the endpoint's own message included), or ``""``."""

    def __new__(cls, status: str, detail: str = "", *, code: str = "") -> ClientStatus:
        self = super().__new__(cls, status)
        self.detail = detail
        self.code = code
        return self


CONNECTED: Final = "connected"
UNRESPONSIVE: Final = "unresponsive"
DISCONNECTED: Final = "disconnected"
REFUSED: Final = "refused"
RESYNC: Final = "resync"


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


class _Lines:
    """Lines from a socket through a buffer of ours, so that a wait can time out cleanly.

    (A buffered file over a socket is left in an unknown state by a timeout.)
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()
        self.scanned = 0
        self.selector = selectors.DefaultSelector()
        self.selector.register(sock, selectors.EVENT_READ)

    def readline(self, timeout: float | None) -> bytes | None:
        """One line; None if none was complete within ``timeout`` seconds (None: wait).

        Raises:
            DebugConnectionError: the endpoint closed the connection.
            DebugProtocolError: a line over ``MAX_MESSAGE_BYTES``.
            OSError: the socket failed.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            end = self.buffer.find(b"\n", self.scanned)
            if end >= 0:
                line = bytes(self.buffer[: end + 1])
                del self.buffer[: end + 1]
                self.scanned = 0
                if len(line) > MAX_MESSAGE_BYTES:
                    raise DebugProtocolError("the endpoint sent a message over the limit")
                return line
            self.scanned = len(self.buffer)
            if self.scanned > MAX_MESSAGE_BYTES:
                raise DebugProtocolError("the endpoint sent a message over the limit")
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0 or not self.selector.select(left):
                    return None
            chunk = self.sock.recv(READ_CHUNK)
            if not chunk:
                raise DebugConnectionError("the endpoint closed the connection")
            self.buffer += chunk

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.selector.close()


def _said(message: dict[str, Any]) -> tuple[str, str]:
    """An ``error`` message's code (a short word, else ``?``) and words (bounded)."""
    code, words = message.get("code"), message.get("message")
    word = code if isinstance(code, str) and _CODE.fullmatch(code) else "?"
    return word, (words if isinstance(words, str) else "")[:MAX_DETAIL_CHARS]


class _Ended(Exception):
    """The connection ended; ``status`` says how (for ``on_status``)."""

    def __init__(self, status: ClientStatus) -> None:
        super().__init__(status.detail)
        self.status = status


@public
class DebugClient:
    """Talks to one debug endpoint.

    Status (``on_status``, ``status``): a ``ClientStatus``, a ``str`` among
    ``"connected"``, ``"unresponsive"``, ``"disconnected"``, ``"refused"`` and
    ``"resync"``, whose ``.detail`` says why and whose ``.code`` is the endpoint's error code
    when it refused or ended the connection. The endpoint's own words (a wrong token,
    ``busy``) are in that detail and in ``last_error``; a status is told once per change
    (a refusal repeated at each retry is told once).

    Args:
        address: ``unix:PATH``, ``tcp://HOST:PORT``, a path, ``HOST:PORT``, or the name of a
            live endpoint (``mapstore-tui ls``).
        token: The endpoint's token. Without it: ``token_file``, else the file next to the
            socket (read at each connection: a restarted app writes a new one), else
            ``$MAPSTORE_DEBUG_TOKEN`` if ``env_token``.
        token_file: A file holding the token (yours, mode 0600).
        env_token: Whether ``$MAPSTORE_DEBUG_TOKEN`` may be sent (turn it off for an address
            the user did not name).
        on_event: Called with each ``StoreEvent`` (values are JSON data), in the order sent.
        on_state: Called with ``(snapshot, partial)``: the store's whole snapshot on each
            connection and after lost events (``partial`` False), or a snapshot of the
            channels that moved through coalesced publishes (``partial`` True: merge it).
        on_status: Called with a ``ClientStatus`` on every change.
        timeout: Seconds to wait for a connection, its state, or an answer.
        retry: Seconds between reconnection attempts (None: do not reconnect).
        silence: Seconds without any message after which the app is ``"unresponsive"``
            (None: never); the endpoint sends something at least every second.

    Callbacks run on the reader thread (the first state on the thread calling
    ``connect()``), one at a time, in the order of the wire. One that raises is logged and
    the client goes on.

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
        on_state: Callable[[dict[str, Any], bool], object] | None = None,
        on_status: Callable[[ClientStatus], object] | None = None,
        timeout: float = 5.0,
        retry: float | None = 1.0,
        silence: float | None = 3.0,
    ) -> None:
        self.address = _endpoints.resolve_address(address)
        self._given_token = token
        self._token_file = token_file
        self._env_token = env_token
        self.on_event = on_event
        self.on_state = on_state
        self.on_status = on_status
        self.timeout = timeout
        self.retry = retry
        self.silence = silence
        self.welcome: dict[str, Any] = {}
        self.status = ClientStatus(DISCONNECTED)
        """The latest status told (``on_status``)."""
        self.last_error = ""
        """The endpoint's latest refusal or error, in words (``""`` if none yet)."""
        self._sock: socket.socket | None = None
        self._lines: _Lines | None = None
        """The connection's one reader: what came with the welcome is read from it."""
        self._ids = itertools.count(1)
        self._pending: dict[int, tuple[threading.Event, list[dict[str, Any]]]] = {}
        self._answers = Assembler()
        self._snapshots = Assembler(MAX_STATE_BYTES)
        self._lost = 0
        self._lost_reason = ""
        self._refusal: ClientStatus | None = None
        """How the last handshake was refused by the endpoint itself (code and words)."""
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._reader: threading.Thread | None = None

    @property
    def connected(self) -> bool:
        """Whether a connection is up (``status`` says whether the app answers on it)."""
        return self._sock is not None

    def connect(self) -> DebugClient:
        """Connect, handshake and read the store's state, then read on in the background.

        Raises:
            DebugConnectionError: nothing listens there, or no state came in time.
            DebugAuthError: the token or protocol version was refused, or the endpoint or the
                token file is not this user's.
        """
        try:
            self._handshake()
        except DebugAuthError as exc:
            self.last_error = str(exc)
            raise
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

    # -- the handshake: hello, welcome, state ------------------------------------------------

    def _handshake(self) -> None:
        self._refusal = None
        token = self._token()
        sock = _connect(self.address, self.timeout)
        sock.settimeout(None)  # reads wait through the selector, with their own timeouts
        lines = _Lines(sock)
        try:
            hello = {"type": "hello", "protocol": PROTOCOL, "version": VERSION, "token": token}
            sock.sendall(encode(hello))
            reply = self._next(lines)
            if reply.get("type") == "error":
                code, words = _said(reply)
                text = f"{self.address} refused the connection ({code}): {words}"
                self._refusal = ClientStatus(REFUSED, text, code=code)
                raise DebugAuthError(text)
            if reply.get("type") != "welcome":
                raise DebugProtocolError(f"expected a welcome, not {str(reply['type'])[:40]!r}")
            events = reply.get("events", EVENT_FORMAT)
            if type(events) is not int or events > EVENT_FORMAT:
                raise DebugProtocolError(
                    f"the endpoint sends events of format {str(events)[:20]}; this mapstore "
                    f"reads format {EVENT_FORMAT}: attach with the app's own mapstore version"
                )
            snapshot = self._first_state(lines)
        except DebugAuthError:
            lines.close()
            sock.close()
            raise
        except (OSError, DebugProtocolError, DebugConnectionError) as exc:
            lines.close()
            sock.close()
            raise DebugConnectionError(f"handshake with {self.address} failed: {exc}") from exc
        self.welcome = reply
        self._snapshots.clear()
        self._lost = 0
        self._call("on_state", self.on_state, snapshot, False)
        self._lines = lines
        self._sock = sock

    def _next(self, lines: _Lines) -> dict[str, Any]:
        line = lines.readline(self.timeout)
        if line is None:
            raise DebugConnectionError(f"no answer within {self.timeout:g} s")
        return decode(line)

    def _first_state(self, lines: _Lines) -> dict[str, Any]:
        """Read up to the store's whole state (ticks may come between its parts)."""
        while True:
            message = self._next(lines)
            kind = message["type"]
            if kind == "tick":
                continue
            if kind == "error":
                code, words = _said(message)
                raise DebugConnectionError(f"the endpoint failed ({code}): {words}")
            if kind != "state":
                raise DebugProtocolError(f"expected the state, not {str(kind)[:40]!r}")
            done, snapshot = self._snapshot(message)
            if done:
                return snapshot

    def _snapshot(self, message: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        """A ``state`` or ``sync`` message's snapshot, once whole (it may come in parts)."""
        kind = message["type"]
        if "part" in message:
            done, snapshot = self._snapshots.add(kind, message)
            if not done:
                return False, {}
        else:
            snapshot = message.get("snapshot")
        if not isinstance(snapshot, dict):
            raise DebugProtocolError(f"a {kind} without a snapshot object")
        return True, snapshot

    # -- the reader thread ---------------------------------------------------------------------

    def _read_loop(self) -> None:
        try:
            self._read_on()
        finally:
            if self._closed.is_set():  # a reconnection that ended as close() was called
                self._drop_connection()

    def _read_on(self) -> None:
        while not self._closed.is_set():
            try:
                if self._sock is not None:
                    self._tell(ClientStatus(CONNECTED))
                    ended = self._pump()
                    self._drop_connection()
                    self._tell(ended)
                if self.retry is None or self._closed.wait(self.retry):
                    return
                self._reconnect()
            except Exception:  # a bug of ours: logged, and the client goes on
                logger.exception("the debug client's reader failed; it reconnects")
                self._drop_connection()
                self._tell(ClientStatus(DISCONNECTED, "the client failed (see the log)"))
                if self.retry is None or self._closed.wait(self.retry):
                    return

    def _reconnect(self) -> None:
        try:
            self._handshake()
        except DebugAuthError as exc:  # the endpoint's words, or not ours to talk to
            self.last_error = str(exc)
            self._tell(self._refusal or ClientStatus(REFUSED, str(exc)))
        except DebugConnectionError:
            pass  # still disconnected

    def _pump(self) -> ClientStatus:
        """Read until the connection ends; returns the status that says how."""
        lines = self._lines
        if lines is None:
            return ClientStatus(DISCONNECTED)
        silence = self.silence
        heard = time.monotonic()
        quiet = False
        try:
            while True:
                if silence is None:
                    wait = None
                elif quiet:
                    wait = 1.0
                else:
                    wait = max(0.0, heard + silence - time.monotonic())
                line = lines.readline(wait)
                if line is None:
                    if not quiet:
                        quiet = True
                        detail = f"nothing came from the app for {silence:g} s"
                        self._tell(ClientStatus(UNRESPONSIVE, detail))
                    continue
                heard = time.monotonic()
                if quiet:
                    quiet = False
                    self._tell(ClientStatus(CONNECTED))
                self._handle(decode(line))
        except _Ended as ended:
            return ended.status
        except (OSError, DebugConnectionError) as exc:
            reason = getattr(exc, "strerror", None) or exc
            return ClientStatus(DISCONNECTED, f"lost {self.address}: {reason}")
        except DebugProtocolError as exc:
            return ClientStatus(DISCONNECTED, f"{self.address} broke the protocol: {exc}")

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "event":
            try:
                event = event_from_dict(message.get("event"))
            except DebugProtocolError as exc:  # skipped; the next sync or state catches up
                self._tell(ClientStatus(RESYNC, f"an event was skipped: {exc}"))
                return
            self._call("on_event", self.on_event, event)
        elif kind in SNAPSHOT_TYPES:
            done, snapshot = self._snapshot(message)
            if not done:
                return
            self._call("on_state", self.on_state, snapshot, kind == "sync")
            if kind == "state" and self._lost:
                lost, self._lost = self._lost, 0
                why, self._lost_reason = self._lost_reason, ""
                detail = f"{lost:,} events were lost ({why or 'the client fell behind'})"
                self._tell(ClientStatus(RESYNC, detail))
        elif kind == "response":
            self._answered(message)
        elif kind == "dropped":
            count = message.get("count")
            self._lost += count if type(count) is int and count > 0 else 1
            said = message.get("reason")
            if isinstance(said, str):
                self._lost_reason = said[:MAX_DETAIL_CHARS]
        elif kind == "error":
            code, words = _said(message)
            self.last_error = f"{self.address} ended the connection ({code}): {words}"
            raise _Ended(ClientStatus(DISCONNECTED, self.last_error, code=code))
        # "tick", and types a newer endpoint may add: nothing to do

    def _answered(self, message: dict[str, Any]) -> None:
        request_id = message.get("id", -1)
        if "part" in message:
            with self._lock:
                if request_id not in self._pending:
                    self._answers.forget(request_id)
                    return
                done, result = self._answers.add(request_id, message)
            if not done:
                return
            message = {"type": "response", "id": request_id, "result": result}
        with self._lock:
            waiter = self._pending.pop(request_id, None)
        if waiter is not None:
            waiter[1].append(message)
            waiter[0].set()

    def _drop_connection(self) -> None:
        sock, self._sock = self._sock, None
        lines, self._lines = self._lines, None
        if lines is not None:
            lines.close()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()
        with self._lock:
            waiting, self._pending = self._pending, {}
            self._answers.clear()
        self._snapshots.clear()
        self._lost = 0
        for done, _ in waiting.values():
            done.set()  # the request sees no answer and raises

    def _tell(self, status: ClientStatus) -> None:
        previous = self.status
        if status == REFUSED and previous == REFUSED and status.detail == previous.detail:
            return  # the same refusal at every retry: told once
        self.status = status
        self._call("on_status", self.on_status, status)

    @staticmethod
    def _call(what: str, fn: Callable[..., object] | None, *args: Any) -> None:
        if fn is None:
            return
        try:
            fn(*args)
        except Exception:
            logger.exception("a DebugClient %s callback (%r) failed; reading goes on", what, fn)

    # -- requests --------------------------------------------------------------------------------

    def request(self, method: str, **params: Any) -> Any:
        """Ask the endpoint; returns the result.

        Raises:
            DebugConnectionError: not connected, the connection dropped meanwhile, or no
                answer within ``timeout`` (a stopped app).
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
                self._answers.forget(request_id)
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
