"""``DebugServer``: lets a panel in another process watch a store — safely by default.

- A Unix domain socket that only this user can open (mode 0600, in a 0700 directory under
  the user's runtime directory); TCP only on request, on loopback unless a host is given.
- Every connection starts with a versioned ``hello`` carrying a token (generated per process,
  written next to the socket with mode 0600, or given by the user). A wrong or missing token
  gets an ``error`` and the connection is closed; nothing else is disclosed.
- JSON lines only (``_wire``); a malformed, oversized or unexpected message closes that
  connection with an error; the server and the app carry on.
- Read-only: requests read the store. ``dry_run`` (validate a payload, name who would
  receive it, deliver nothing) works only when the app opted in with ``allow_dry_run=True``.
- Publishers never wait for a client: each client has a bounded queue of events filled by a
  store listener that only appends; when it overflows the client is told how many events it
  lost (``dropped``) and should resynchronise. Publishes are coalesced: a client gets the
  first ``published`` event after each batch it was sent, and reads counts and histories
  for the rest — so an attached panel costs a flooding app next to nothing.

The server runs an asyncio loop in a daemon thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
import secrets
import stat
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

from mapstore_core._errors import DebugProtocolError, MapStoreError
from mapstore_core._reader import StoreReader
from mapstore_core._records import EventKind, StoreEvent
from mapstore_core._wake import WakeOnceBuffer
from mapstore_core.remote._wire import (
    MAX_MESSAGE_BYTES,
    PROTOCOL,
    VERSION,
    decode,
    encode,
    event_to_dict,
)

if TYPE_CHECKING:
    from mapstore_core._store import MapObjectStore

__all__ = ["DebugServer", "default_socket_path"]

logger = logging.getLogger("mapstore_core.debug")

HELLO_TIMEOUT = 5.0
EVENTS_PER_WRITE = 256
LINGER_SECONDS = 1.0
LINGER_BYTES = 8 * MAX_MESSAGE_BYTES
READ_METHODS = frozenset(
    (
        "channels",
        "producers",
        "consumers",
        "values",
        "history",
        "schema",
        "log_producers",
        "diagnostics",
        "snapshot",
        "dry_run",
    )
)
NOTABLE_KINDS: frozenset[EventKind] = frozenset(get_args(EventKind)) - {"published"}


def default_socket_path() -> Path:
    """``$XDG_RUNTIME_DIR/mapstore/<pid>.sock``, else a private directory under the temp dir."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    base = Path(runtime) if runtime else Path(tempfile.gettempdir()) / f"mapstore-{os.getuid()}"
    return (base / "mapstore" if runtime else base) / f"{os.getpid()}.sock"


class _Session:
    """One connected client: handshake, then requests in and events out."""

    def __init__(
        self, server: DebugServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.wake = asyncio.Event()
        self.loop = asyncio.get_running_loop()
        self.events: WakeOnceBuffer[StoreEvent] = WakeOnceBuffer(
            self._wake_loop, maxlen=server.queue_size
        )
        self.arm_lock = threading.Lock()
        self.unsubscribe_publish: Callable[[], None] | None = None

    def arm(self) -> None:
        """Listen for the next publish (one per batch: see ``on_publish``)."""
        with self.arm_lock:
            if self.unsubscribe_publish is None:
                self.unsubscribe_publish = self.server.store.subscribe_events(
                    self.on_publish, kinds=("published",)
                )

    def disarm(self) -> bool:
        with self.arm_lock:
            unsubscribe, self.unsubscribe_publish = self.unsubscribe_publish, None
        if unsubscribe is None:
            return False
        unsubscribe()
        return True

    def on_publish(self, event: StoreEvent) -> None:
        # Publishes are coalesced: the first one after a batch is queued and the listener
        # stops, so a flood costs the app nothing per publish; clients read counts and
        # histories for the rest. The pump re-arms after each batch.
        if self.disarm():
            self.on_event(event)

    def on_event(self, event: StoreEvent) -> None:
        # Runs in the publishing thread: push (bounded) and wake the loop once per batch.
        self.events.push(event)

    def _wake_loop(self) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closing
            self.loop.call_soon_threadsafe(self.wake.set)

    async def send(self, message: dict[str, Any]) -> None:
        self.writer.write(encode(message))
        await self.writer.drain()

    async def read(self, timeout: float | None = None) -> dict[str, Any] | None:
        try:
            line = await asyncio.wait_for(self.reader.readline(), timeout)
        except (ValueError, asyncio.LimitOverrunError) as exc:
            raise DebugProtocolError(f"message over the {MAX_MESSAGE_BYTES:,}-byte limit") from exc
        if not line:
            return None
        return decode(line)

    async def run(self) -> None:
        unsubscribe: Callable[[], None] | None = None
        pump: asyncio.Task[None] | None = None
        try:
            if not await self.handshake():
                return
            unsubscribe = self.server.store.subscribe_events(self.on_event, kinds=NOTABLE_KINDS)
            self.arm()
            pump = asyncio.create_task(self.pump_events())
            while True:
                message = await self.read()
                if message is None:
                    return
                await self.answer(message)
        except DebugProtocolError as exc:
            await self.refuse("protocol", str(exc))
        except (TimeoutError, ConnectionError):
            pass
        finally:
            if unsubscribe is not None:
                unsubscribe()
            self.disarm()
            if pump is not None:
                pump.cancel()
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()

    async def refuse(self, code: str, message: str) -> None:
        """Send the error, then briefly read and discard what the client is still sending.

        Closing a socket with unread input resets the connection, and the error is lost.
        """
        with contextlib.suppress(Exception):
            await self.send({"type": "error", "code": code, "message": message})
            if self.writer.can_write_eof():
                self.writer.write_eof()
            async with asyncio.timeout(LINGER_SECONDS):
                discarded = 0
                while discarded < LINGER_BYTES and (chunk := await self.reader.read(65_536)):
                    discarded += len(chunk)

    async def handshake(self) -> bool:
        hello = await self.read(HELLO_TIMEOUT)
        if hello is None:
            return False
        if hello.get("type") != "hello" or hello.get("protocol") != PROTOCOL:
            await self.refuse("protocol", f"expected a hello of protocol {PROTOCOL!r}")
            return False
        if hello.get("version") != VERSION:
            await self.refuse("version", f"this server speaks version {VERSION} only")
            return False
        token = hello.get("token")
        if not isinstance(token, str) or not hmac.compare_digest(
            token.encode(), self.server.token.encode()
        ):
            await self.refuse("auth", "wrong or missing token")
            return False
        await self.send(
            {
                "type": "welcome",
                "protocol": PROTOCOL,
                "version": VERSION,
                "read_only": not self.server.allow_dry_run,
                "dry_run": self.server.allow_dry_run,
            }
        )
        return True

    async def pump_events(self) -> None:
        """Send queued events in batches, yielding between them.

        Every client (and every request) gets its turn even while one queue refills as fast
        as it drains.
        """
        while True:
            await self.wake.wait()
            self.wake.clear()
            batch, lost, remaining = self.events.drain(EVENTS_PER_WRITE)
            if lost:
                await self.send({"type": "dropped", "count": lost})
            if batch:
                self.writer.write(
                    b"".join(encode({"type": "event", "event": event_to_dict(e)}) for e in batch)
                )
                await self.writer.drain()
            if remaining:
                self.wake.set()
            self.arm()
            await asyncio.sleep(0)

    async def answer(self, message: dict[str, Any]) -> None:
        if message["type"] != "request":
            raise DebugProtocolError(f"unexpected message type {message['type']!r}")
        request_id = message.get("id")
        method = message.get("method")
        params = message.get("params") or {}
        if not isinstance(request_id, int) or not isinstance(method, str):
            raise DebugProtocolError("a request needs an integer 'id' and a string 'method'")
        if not isinstance(params, dict):
            raise DebugProtocolError("'params' must be an object")
        try:
            result = self.server.call(method, params)
        except (MapStoreError, LookupError, TypeError, ValueError, PermissionError) as exc:
            await self.send({"type": "response", "id": request_id, "error": str(exc)})
            return
        await self.send({"type": "response", "id": request_id, "result": result})


class DebugServer:
    """Serves one store to debug panels; see the module docstring for the guarantees.

    Args:
        store: The store to serve.
        path: The Unix socket (default: ``default_socket_path()``).
        host: Serve TCP on this host instead (``port`` too); ``"127.0.0.1"`` if only ``port``
            is given. A non-loopback host is the caller's explicit choice.
        port: TCP port (0 picks a free one).
        token: The token clients must present (default: a new random one).
        allow_dry_run: Let clients validate payloads against channels (nothing is delivered).
        queue_size: Events buffered per client before it is told it lost some.
    """

    def __init__(
        self,
        store: MapObjectStore,
        *,
        path: str | os.PathLike[str] | None = None,
        host: str | None = None,
        port: int | None = None,
        token: str | None = None,
        allow_dry_run: bool = False,
        queue_size: int = 10_000,
    ) -> None:
        self.store = store
        self.reader = StoreReader(store)
        self.tcp = host is not None or port is not None
        self.host = host or "127.0.0.1"
        self.port = port or 0
        self.path = None if self.tcp else Path(path) if path else default_socket_path()
        self.token = token or secrets.token_urlsafe(32)
        self.allow_dry_run = allow_dry_run
        self.queue_size = queue_size
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._stopping: asyncio.Event | None = None

    @property
    def address(self) -> str:
        """What ``mapstore-tui attach`` takes: ``unix:PATH`` or ``tcp://HOST:PORT``."""
        return f"tcp://{self.host}:{self.port}" if self.tcp else f"unix:{self.path}"

    @property
    def token_path(self) -> Path | None:
        """Where the token is written for clients of the same user (Unix sockets only)."""
        return None if self.path is None else self.path.with_name(self.path.name + ".token")

    def start(self) -> DebugServer:
        """Start serving in a background thread; returns when the endpoint accepts clients."""
        if self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._run, name="mapstore-debug", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._failure is not None:
            raise self._failure
        logger.info("mapstore debug endpoint: mapstore-tui attach %s", self.address)
        return self

    def stop(self) -> None:
        """Close every connection and the endpoint; remove the socket and token files."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if self._stopping is not None:
            loop.call_soon_threadsafe(self._stopping.set)
        thread.join(timeout=10)
        self._thread = None
        for path in (self.path, self.token_path):
            if path is not None:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()

    def __enter__(self) -> DebugServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to start(), or logged once running
            if not self._ready.is_set():
                self._failure = exc
            else:
                logger.exception("mapstore debug endpoint stopped")
        finally:
            self._ready.set()
            loop.close()

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        sessions: set[asyncio.Task[None]] = set()

        async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            sessions.add(task)
            try:
                await _Session(self, reader, writer).run()
            except asyncio.CancelledError:
                pass  # the server is stopping: the session closed its connection already
            finally:
                sessions.discard(task)

        if self.tcp:
            server = await asyncio.start_server(
                on_client, self.host, self.port, limit=MAX_MESSAGE_BYTES
            )
            self.port = server.sockets[0].getsockname()[1]
        else:
            server = await self._unix_server(on_client)
        self._ready.set()
        async with server:
            await self._stopping.wait()
            server.close()
            for task in list(sessions):
                task.cancel()
            await asyncio.gather(*sessions, return_exceptions=True)

    async def _unix_server(self, on_client: Any) -> asyncio.Server:
        assert self.path is not None
        directory = self.path.parent
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = directory.stat()
        if info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o077:
            raise PermissionError(
                f"{directory} must belong to you and be private (chmod 700) to hold the "
                "debug socket"
            )
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # a stale socket of a process that died
        old = os.umask(0o177)
        try:
            server = await asyncio.start_unix_server(
                on_client, str(self.path), limit=MAX_MESSAGE_BYTES
            )
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)
        assert self.token_path is not None
        descriptor = os.open(self.token_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as token_file:
            token_file.write(self.token)
        return server

    # -- requests --------------------------------------------------------------------------

    def call(self, method: str, params: dict[str, Any]) -> Any:
        """Answer one request (runs on the server's thread; reads the store)."""
        if method not in READ_METHODS:
            raise ValueError(f"unknown method {method!r}")
        if method == "dry_run" and not self.allow_dry_run:
            raise PermissionError("dry runs are off: the app did not allow_dry_run")
        for name, expected, what in (("channel", str, "a string"), ("limit", int, "an integer")):
            value = params.get(name)
            if value is not None and (not isinstance(value, expected) or isinstance(value, bool)):
                raise TypeError(f"{name!r} must be {what}")
        return getattr(self.reader, method)(**params)  # unknown params: TypeError
