"""``DebugServer``: lets a panel in another process watch a store — safely by default.

- A Unix domain socket that only this user can open (mode 0600, in a real 0700 directory of
  the user, no symlink followed), named after the program (``app.sock`` for ``python app.py``)
  so a restarted app comes back at the same address; TCP only on request, on loopback unless
  a host is given. Files are removed at exit; a live socket is never replaced (``_endpoints``).
- Every connection starts with a versioned ``hello`` carrying a token (generated per process,
  written next to the socket with mode 0600, or given by the user), within ``HELLO_TIMEOUT``
  and ``HELLO_MAX_BYTES``. A wrong or missing token gets an ``error`` and the connection is
  closed; nothing else is disclosed. Connections waiting to authenticate and clients are
  capped (``max_pending``, ``max_clients``); one over the cap is told ``busy``.
- JSON lines only (``_wire``); a malformed, oversized or unexpected message closes that
  connection with an error; a request the server can answer but not satisfy (unknown method,
  bad params, an answer over ``MAX_ANSWER_BYTES``, or one in parts while the clients are
  already being sent ``ANSWERS_IN_FLIGHT`` characters of such) gets an error response and the
  connection stays. No input ever raises out of a session: the app never prints a traceback
  for a client.
- Read-only: requests read the store and change nothing in it (not even the doctor's record
  of what it reported). ``dry_run`` (validate a payload, name who would receive it, deliver
  nothing) works only when the app opted in with ``allow_dry_run=True``.
- Each client keeps a mirror (``StoreMirror``): after the welcome it is sent the store's
  ``state`` (subscribed first, then read, so nothing is missed; what the state already holds
  is stale for the mirror and skipped by seq), then the store's events. Publishers never
  wait for a client: each client has a bounded queue of notable events (everything but
  publishes) filled by a store listener that only appends; when it overflows the client is
  told how many events it lost (``dropped``) and is sent a fresh ``state``; past
  ``VALUES_QUEUED`` queued events, an event's value is left out (the event names the seq to
  read), so a client that is behind keeps no values of the app alive. Publishes are
  coalesced: one listener fires once and stops; the pump re-arms it, reads each channel's
  seq, and sends a ``sync`` (a snapshot of the channels that moved since the client was last
  told) at most every ``SYNC_INTERVAL`` and within ``SYNC_SHARE`` of the app's CPU — so an
  attached panel costs a flooding app next to nothing. An event that cannot be sent whole is
  sent as a stub naming its size (and its channel is synced); a state or sync too large for
  one message comes in parts, values over the limit as stubs; a failure of the event pump is
  a ``dropped`` message with its reason, followed by a fresh ``state``. A ``tick`` each
  ``TICK_SECONDS`` without another message tells a client the app is alive.

The server runs an asyncio loop in a daemon thread.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime
import hmac
import logging
import math
import os
import secrets
import socket
import statistics
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, get_args

from mapstore_core._errors import DebugEndpointError, DebugProtocolError, MapStoreError
from mapstore_core._events import STATE_KINDS, EventKind, StoreEvent, event_stub, event_to_json
from mapstore_core._wake import WakeOnceBuffer
from mapstore_core.debug import _endpoints
from mapstore_core.debug._reads import JsonReads, ServedStore
from mapstore_core.debug._wire import (
    MAX_ANSWER_BYTES,
    MAX_MESSAGE_BYTES,
    PART_CHARS,
    PROTOCOL,
    VERSION,
    answer_parts,
    decode,
    dumps,
    encode,
    snapshot_parts,
)

__all__ = ["DebugServer", "default_socket_path"]

logger = logging.getLogger("mapstore_core.debug")

HELLO_TIMEOUT = 5.0
HELLO_MAX_BYTES = 65_536
EVENTS_PER_WRITE = 256
LINGER_SECONDS = 1.0
LINGER_BYTES = 8 * MAX_MESSAGE_BYTES
BACKLOG = 512
"""Connections the kernel queues before the server accepts them (200 at once must fit)."""
VALUES_QUEUED = 64
"""Queued events per client that keep their update's value; later ones leave it out."""
WRITE_BYTES = 262_144
"""Bytes of event lines written to a client before waiting for it to take them."""
ACCEPT_BATCH = 32
"""Connections accepted per loop turn, so refusals close sockets before more are taken."""
READ_CHUNK = 65_536
MAX_ERROR_CHARS = 2_000
ANSWERS_IN_FLIGHT = MAX_ANSWER_BYTES
"""Characters of answers in parts that all clients together may be sent at once."""
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
"""Events queued for each client one by one; publishes are coalesced into syncs."""
TICK_SECONDS = 1.0
"""A client is sent a ``tick`` when nothing else was sent for this long: the app is alive."""
SYNC_INTERVAL = 0.05
"""Least time between two syncs of one client."""
SYNC_SHARE = 0.05
"""Syncs that take ``t`` seconds of CPU to read and encode (the median of the last few: a
garbage collection that fell into one is not its cost) wait ``t / SYNC_SHARE`` for the next
(up to ``SYNC_MAX_GAP``): a flood never turns into a stream of snapshots eating the app's
time."""
SYNC_MAX_GAP = 1.0
"""The longest a costly sync makes the next one wait: a panel stays at most this stale."""


def default_socket_path(name: str | None = None) -> Path:
    """Where ``serve_debug(name=...)`` puts its socket: ``<endpoint dir>/<name>.sock``."""
    return _endpoints.endpoint_dir() / f"{name or _endpoints.program_name()}.sock"


class _Session:
    """One connection: handshake, then requests in and events out. Never raises out."""

    def __init__(
        self, server: DebugServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.buffer = bytearray()
        self.wake = asyncio.Event()
        self.loop = asyncio.get_running_loop()
        self.events: WakeOnceBuffer[StoreEvent] = WakeOnceBuffer(
            self._wake_loop, maxlen=server.queue_size
        )
        self.arm_lock = threading.Lock()
        self.unsubscribe_publish: Callable[[], None] | None = None
        self.unsubscribe_notable: Callable[[], None] | None = None
        # The pump's own state (the loop thread), but ``sync_wanted``, which a publishing
        # thread sets once per batch (a plain flag: the pump clears it before it reads).
        self.sync_wanted = False
        self.resync = False
        self.told: dict[str, int] = {}
        """Each channel's seq as of the last state or sync this client was sent."""
        self.last_sent = self.loop.time()
        self.last_sync = -math.inf
        self.sync_gap = SYNC_INTERVAL
        self.sync_costs: collections.deque[float] = collections.deque(maxlen=5)
        self.sync_timer: asyncio.TimerHandle | None = None

    # -- store listeners (publishing threads) ------------------------------------------------

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
        # Publishes are coalesced: the first one after a sync stops the listener and asks
        # the pump for the next sync, so a flood costs the app nothing per publish. The
        # pump re-arms before it reads what moved: no publish falls between the two.
        if self.disarm():
            self.sync_wanted = True
            self._wake_loop()

    def on_event(self, event: StoreEvent) -> None:
        # Runs in the publishing thread: push (bounded; lost ones counted) and wake the
        # loop once per batch. A client that is behind does not keep the app's values
        # alive: past VALUES_QUEUED events, a queued event's value (a failing consumer's
        # update) is left out and the event says where to read it.
        update = event.update
        if (
            update is not None
            and update.value is not None
            and event.kind != "link_dropped"  # its value is a count, not the app's
            and len(self.events) >= VALUES_QUEUED
        ):
            note = f"(value left out: this client is behind; see the history, seq {update.seq})"
            event = event._replace(
                update=update._replace(value=None),
                message=f"{event.message} {note}" if event.message else note,
            )
        self.events.push(event)

    def _wake_loop(self) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closing
            self.loop.call_soon_threadsafe(self.wake.set)

    # -- reading and writing -----------------------------------------------------------------

    async def send(self, message: dict[str, Any]) -> None:
        self.writer.write(encode(message))
        self.last_sent = self.loop.time()
        await self.writer.drain()

    async def readline(self, limit: int) -> bytes | None:
        """One line of at most ``limit`` bytes; None at the end of the stream.

        Reads in chunks into this session's buffer, so a client can never make the server
        hold more than ``limit`` plus a chunk of an unfinished line.
        """
        scanned = 0
        while True:
            end = self.buffer.find(b"\n", scanned)
            if end >= 0:
                if end + 1 > limit:
                    break
                line = bytes(self.buffer[: end + 1])
                del self.buffer[: end + 1]
                return line
            if len(self.buffer) > limit:
                break
            scanned = len(self.buffer)
            chunk = await self.reader.read(READ_CHUNK)
            if not chunk:
                return None
            self.buffer += chunk
        self.buffer.clear()
        raise DebugProtocolError(f"message over the {limit:,}-byte limit")

    async def read(self, limit: int = MAX_MESSAGE_BYTES) -> dict[str, Any] | None:
        line = await self.readline(limit)
        return None if line is None else decode(line)

    async def refuse(self, code: str, message: str) -> None:
        """Send the error, then briefly read and discard what the client is still sending.

        Closing a socket with unread data would reset the connection and could destroy the
        error before the client reads it. Lingering is bounded (time, bytes, and how many
        connections may linger at once).
        """
        server = self.server
        with contextlib.suppress(Exception):
            await self.send({"type": "error", "code": code, "message": message})
            if self.writer.can_write_eof():
                self.writer.write_eof()
            if server.lingering >= server.max_pending:
                return
            server.lingering += 1
            try:
                async with asyncio.timeout(LINGER_SECONDS):
                    discarded = 0
                    while discarded < LINGER_BYTES and (
                        chunk := await self.reader.read(READ_CHUNK)
                    ):
                        discarded += len(chunk)
            finally:
                server.lingering -= 1

    # -- the session -------------------------------------------------------------------------

    async def run(self) -> None:
        server = self.server
        pump: asyncio.Task[None] | None = None
        welcomed = False
        try:
            if server.pending >= server.max_pending:
                await self.refuse(
                    "busy", f"{server.max_pending} connections are already authenticating"
                )
                return
            server.pending += 1
            try:
                welcomed = await self.handshake()
            finally:
                server.pending -= 1
            if not welcomed:
                return
            server.clients += 1
            pump = asyncio.create_task(self.pump())
            while True:
                message = await self.read()
                if message is None:
                    return
                await self.answer(message)
        except DebugProtocolError as exc:
            await self.refuse("protocol", str(exc))
        except (OSError, EOFError):
            pass  # the client went away
        except Exception:  # never a traceback in the app for a client's doing
            logger.debug("debug session failed", exc_info=True)
            await self.refuse("internal", "the endpoint failed on this connection")
        finally:
            if welcomed:
                server.clients -= 1
            await self.close(pump)

    async def close(self, pump: asyncio.Task[None] | None) -> None:
        if self.unsubscribe_notable is not None:
            self.unsubscribe_notable()
        self.disarm()
        if self.sync_timer is not None:
            self.sync_timer.cancel()
        if pump is not None:
            pump.cancel()
            with contextlib.suppress(BaseException):
                await pump
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()

    async def handshake(self) -> bool:
        """Read the hello (in time, small); subscribe, then welcome: nothing is missed."""
        try:
            async with asyncio.timeout(HELLO_TIMEOUT):
                hello = await self.read(HELLO_MAX_BYTES)
        except TimeoutError:
            await self.refuse("timeout", f"no hello within {HELLO_TIMEOUT:g} seconds")
            return False
        if hello is None:
            return False
        if hello.get("type") != "hello" or hello.get("protocol") != PROTOCOL:
            await self.refuse("protocol", f"expected a hello of protocol {PROTOCOL!r}")
            return False
        version = hello.get("version")
        if type(version) is not int or version != VERSION:
            await self.refuse(
                "version",
                f"this server speaks version {VERSION} (an integer) only; "
                "attach with a mapstore of the same version as the app's",
            )
            return False
        token = hello.get("token")
        if not isinstance(token, str) or not hmac.compare_digest(
            token.encode("utf-8", "surrogatepass"), self.server.token.encode("utf-8")
        ):
            await self.refuse("auth", "wrong or missing token")
            return False
        if self.server.clients >= self.server.max_clients:
            await self.refuse("busy", f"{self.server.max_clients} clients are already attached")
            return False
        # Subscribed before the state is read (by the pump): nothing is missed.
        self.unsubscribe_notable = self.server.store.subscribe_events(
            self.on_event, kinds=NOTABLE_KINDS
        )
        self.arm()
        await self.send(
            {
                "type": "welcome",
                "protocol": PROTOCOL,
                "version": VERSION,
                "name": self.server.name,
                "read_only": not self.server.allow_dry_run,
                "dry_run": self.server.allow_dry_run,
                "tick": TICK_SECONDS,
            }
        )
        return True

    @staticmethod
    def event_line(event: StoreEvent) -> tuple[bytes, bool]:
        """An event as a line, and whether it went whole (else it is a stub).

        One too large, or that cannot be encoded, goes as a stub naming why.
        """
        try:
            line = dumps({"type": "event", "event": event_to_json(event)}).encode("utf-8")
        except Exception as exc:  # a value the wire cannot carry at all
            stub = event_stub(event, f"event could not be encoded: {str(exc)[:200]}")
            return encode({"type": "event", "event": event_to_json(stub)}), False
        if len(line) + 1 > MAX_MESSAGE_BYTES:
            note = (
                f"event of {len(line) + 1:,} bytes omitted: over the "
                f"{MAX_MESSAGE_BYTES:,}-byte message limit"
            )
            stub = event_stub(event, note)
            message = {"type": "event", "omitted": len(line) + 1, "event": event_to_json(stub)}
            return encode(message), False
        return line + b"\n", True

    # -- the pump: state, events, syncs, ticks -------------------------------------------------

    async def pump(self) -> None:
        """Send the state, then events, syncs and ticks, until the connection goes.

        Every client (and every request) gets its turn even while one queue refills as fast
        as it drains. A failure is reported to the client as ``dropped`` and a fresh state
        follows; a state that cannot be sent at all ends the connection with an error.
        """
        try:
            await self.send_state()
            while True:
                await self.pump_once()
                await asyncio.sleep(0)
        except OSError:
            return  # the connection is gone; the session notices and closes
        except Exception as exc:  # never a traceback in the app; the client reconnects
            logger.debug("debug event pump failed", exc_info=True)
            if isinstance(exc, _StateFailed):
                message = f"the store's state could not be sent: {exc}"
            else:
                message = f"the endpoint's stream failed: {str(exc)[:MAX_ERROR_CHARS]}"
            with contextlib.suppress(Exception):
                await self.send({"type": "error", "code": "internal", "message": message})
            self.writer.close()  # the session's read ends, and it closes

    async def pump_once(self) -> None:
        """Wait for something to send (or a tick's time), then send it."""
        loop = self.loop
        idle = self.last_sent + TICK_SECONDS - loop.time()
        if idle > 0 and not self.wake.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(idle):
                    await self.wake.wait()
        self.wake.clear()
        await self.send_events()
        if self.resync:
            await self.send_state()
        elif self.sync_wanted:
            await self.send_sync()
        if loop.time() - self.last_sent >= TICK_SECONDS:
            await self.send({"type": "tick"})

    async def send_events(self) -> None:
        """Send the queued notable events (a batch), as lines, a write's worth at a time."""
        batch, lost, remaining = self.events.drain(EVENTS_PER_WRITE)
        if remaining:
            self.wake.set()
        unsent = len(batch)
        try:
            if lost:
                await self.send({"type": "dropped", "count": lost})
                self.resync = True
            # Written a few lines at a time, each event let go once it is a line: a client
            # that reads slowly holds a write's worth of bytes, not a batch.
            batch.reverse()
            lines: list[bytes] = []
            size = 0
            while batch:
                event = batch.pop()
                line, whole = self.event_line(event)
                if not whole and event.kind in STATE_KINDS:
                    self.sync_wanted = True  # the stub keeps the mirror in step; a sync fixes it
                lines.append(line)
                size += len(line)
                if size >= WRITE_BYTES or not batch:
                    self.writer.write(b"".join(lines))
                    self.last_sent = self.loop.time()
                    unsent -= len(lines)
                    lines.clear()
                    size = 0
                    await self.writer.drain()
        except OSError:
            raise
        except Exception as exc:
            logger.debug("debug event pump failed", exc_info=True)
            self.resync = True
            await self.send(
                {"type": "dropped", "count": unsent, "reason": f"the event stream failed: {exc}"}
            )

    async def send_state(self) -> None:
        """The whole store: first on a connection, and after events were lost."""
        self.resync = False
        self.sync_wanted = False
        self.arm()  # before the read: a publish from now on asks for a sync
        try:
            snapshot = self.server.store.snapshot()
            self.told = _seqs(snapshot)
            messages = snapshot_parts("state", snapshot)
            del snapshot
            first = next(messages)
        except Exception as exc:
            raise _StateFailed(str(exc)[:MAX_ERROR_CHARS]) from exc
        await self.send_parts(first, messages)

    async def send_sync(self) -> None:
        """The channels that moved since this client was last told, rate-limited."""
        loop = self.loop
        due = self.last_sync + self.sync_gap
        if loop.time() < due:
            if self.sync_timer is None:
                self.sync_timer = loop.call_at(due, self._sync_due)
            return
        started = time.thread_time()  # CPU: waiting for the GIL is not the sync's cost
        self.sync_wanted = False
        self.arm()  # first: a publish after the read below asks for the next sync
        store = self.server.store
        told = self.told
        moved = [name for name, seq in store.channel_seqs().items() if told.get(name) != seq]
        first: dict[str, Any] | None = None
        if moved:
            try:
                snapshot = store.snapshot(channels=moved)
                told.update(_seqs(snapshot))
                messages = snapshot_parts("sync", snapshot)
                del snapshot
                first = next(messages)
            except Exception as exc:
                raise _StateFailed(str(exc)[:MAX_ERROR_CHARS]) from exc
        self.sync_costs.append(time.thread_time() - started)
        cost = statistics.median(self.sync_costs)
        self.last_sync = loop.time()
        self.sync_gap = min(SYNC_MAX_GAP, max(SYNC_INTERVAL, cost / SYNC_SHARE))
        if first is not None:
            await self.send_parts(first, messages)

    def _sync_due(self) -> None:
        self.sync_timer = None
        self.wake.set()

    async def send_parts(
        self, first: dict[str, Any], rest: Iterator[dict[str, Any]], *, answer: bool = False
    ) -> None:
        """Send a message that may come in parts.

        An answer's parts count as answers in flight while they are sent. A state's or a
        sync's do not: they are never refused, so counting them would bound nothing and
        only refuse a client's requests for its own state.
        """
        server = self.server
        held = first.get("parts", 0) * PART_CHARS if answer else 0
        server.answering += held
        try:
            await self.send(first)
            for part in rest:
                await self.send(part)
        finally:
            server.answering -= held

    async def answer(self, message: dict[str, Any]) -> None:
        if message["type"] != "request":
            raise DebugProtocolError(f"unexpected message type {message['type']!r}")
        request_id = message.get("id")
        if type(request_id) is not int:
            raise DebugProtocolError("a request needs an integer 'id'")
        method = message.get("method")
        params = message.get("params", {})
        server = self.server
        try:
            if not isinstance(method, str):
                raise TypeError("a request needs a string 'method'")
            if not isinstance(params, dict):
                raise TypeError(f"'params' must be an object, not {type(params).__name__}")
            result = server.call(method, params)
            parts = answer_parts(request_id, result)
            del result
            first = next(parts)
            # An answer in parts is held until its client has read it all: what all clients
            # hold at once is capped (one is always let through), so clients that never read
            # cannot swell the app.
            held = first.get("parts", 0) * PART_CHARS
            if held and server.answering and server.answering + held > ANSWERS_IN_FLIGHT:
                raise RuntimeError(
                    f"the endpoint is already sending {server.answering:,} bytes of large "
                    "answers; ask again later, or ask for less (a channel, a history limit)"
                )
        except Exception as exc:  # any failure to answer is that request's error, not ours
            error = (str(exc) or type(exc).__name__)[:MAX_ERROR_CHARS]
            await self.send({"type": "response", "id": request_id, "error": error})
            return
        await self.send_parts(first, parts, answer=True)


class _StateFailed(Exception):
    """The store's state or a sync could not be read or encoded: the connection ends."""


def _seqs(snapshot: dict[str, Any]) -> dict[str, int]:
    """Each channel's seq as the snapshot holds it (what a client told it is up to)."""
    return {name: extra["seq"] for name, extra in snapshot["channel_state"].items()}


def _remove_files(
    directory: Path, files: list[tuple[Path, tuple[int, int]]], token: str, owner: int
) -> None:
    """Remove an endpoint's files if they are still the ones it made (at stop, exit or GC).

    Still ours: the socket is the same inode and the token file holds our token (an inode
    number alone can be reused by a successor's socket). Only in the process that made them:
    a forked child exiting leaves its parent's alone.
    """
    if os.getpid() != owner or not files:
        return
    with contextlib.suppress(OSError), _endpoints.directory_lock(directory):
        sock, identity = files[0]
        info = os.lstat(sock)
        try:
            ours = _endpoints.read_private(_endpoints.companions(sock)[0]) == token
        except MapStoreError:
            ours = False
        if (info.st_dev, info.st_ino) == identity and ours:
            for path, made in files:
                _endpoints.remove_if_same(path, made)


class DebugServer:
    """Serves one store to debug panels; see the module docstring for the guarantees.

    Args:
        store: The store to serve.
        name: The endpoint's name (default: the program's, ``app`` for ``python app.py``);
            its socket is ``<endpoint dir>/<name>.sock``, or ``<name>-2.sock`` and so on while
            a live endpoint holds the name.
        path: A Unix socket path of your own instead (its directory must exist, be yours and
            be mode 0700). A live endpoint there, or a file that is not a socket, is refused.
        host: Serve TCP on this host instead (``port`` too); ``"127.0.0.1"`` if only ``port``
            is given. A non-loopback host is the caller's explicit choice.
        port: TCP port (0 picks a free one).
        token: The token clients must present (default: a new random one).
        allow_dry_run: Let clients validate payloads against channels (nothing is delivered).
        queue_size: Events buffered per client before it is told it lost some.
        max_clients: Authenticated clients at once; more are refused (``busy``).
        max_pending: Connections authenticating at once; more are refused (``busy``).
    """

    def __init__(
        self,
        store: ServedStore,
        *,
        name: str | None = None,
        path: str | os.PathLike[str] | None = None,
        host: str | None = None,
        port: int | None = None,
        token: str | None = None,
        allow_dry_run: bool = False,
        queue_size: int = 10_000,
        max_clients: int = 16,
        max_pending: int = 16,
    ) -> None:
        if port is not None and (type(port) is not int or not 0 <= port <= 65_535):
            raise DebugEndpointError(f"port {port!r} is out of range (0-65535)")
        for what, limit in (("max_clients", max_clients), ("max_pending", max_pending)):
            if type(limit) is not int or limit < 1:
                raise ValueError(f"{what} must be a positive integer, not {limit!r}")
        self.store = store
        self.reader = JsonReads(store)
        self.tcp = host is not None or port is not None
        self.host = host or "127.0.0.1"
        self.port = port or 0
        if path is not None and not os.fspath(path):
            raise DebugEndpointError("path= is empty; give a socket path or leave it out")
        self._explicit_path = path is not None and not self.tcp
        self.path: Path | None = None if self.tcp else Path(path).absolute() if path else None
        self.name = _endpoints.check_name(name) if name else _endpoints.program_name()
        if self._explicit_path and name is None:
            self.name = self.path.name.removesuffix(".sock") if self.path else self.name
        self.token = token or secrets.token_urlsafe(32)
        self.allow_dry_run = allow_dry_run
        self.queue_size = queue_size
        self.max_clients = max_clients
        self.max_pending = max_pending
        self.started = ""
        # Connection counts; only the server's loop thread touches them.
        self.pending = 0
        self.clients = 0
        self.lingering = 0
        self.answering = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._stopping: asyncio.Event | None = None
        self._listener: socket.socket | None = None
        self._cleanup: weakref.finalize[Any, Any] | None = None

    @property
    def address(self) -> str:
        """What ``mapstore-tui attach`` takes: ``unix:PATH`` or ``tcp://HOST:PORT``."""
        if self.tcp:
            host = f"[{self.host}]" if ":" in self.host else self.host
            return f"tcp://{host}:{self.port}"
        return f"unix:{self.path}"

    @property
    def token_path(self) -> Path | None:
        """Where the token is written for clients of the same user (Unix sockets only)."""
        return None if self.path is None else _endpoints.companions(self.path)[0]

    def start(self) -> DebugServer:
        """Start serving in a background thread; returns when the endpoint accepts clients.

        Raises:
            DebugEndpointError: the socket cannot be served there (the message says why).
        """
        if self._thread is not None:
            return self
        self.started = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
        self._listener = self._tcp_listener() if self.tcp else self._claim()
        self._thread = threading.Thread(target=self._run, name="mapstore-debug", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._failure is not None:
            self._thread = None
            if self._cleanup is not None:
                self._cleanup()
            raise self._failure
        logger.info("mapstore debug endpoint: mapstore-tui attach %s", self.address)
        return self

    def close(self) -> None:
        """Remove the socket and token files, then close every connection and the endpoint.

        Idempotent; ``with store.serve_debug() as server:`` closes it on leaving the block.
        """
        if self._cleanup is not None:
            self._cleanup()  # first: a successor may claim the name as soon as we stop
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if self._stopping is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._stopping.set)
        thread.join(timeout=10)
        self._thread = None

    def stop(self) -> None:
        """An alias of ``close()``, kept for code written before it."""
        self.close()

    def __enter__(self) -> DebugServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the listening socket ----------------------------------------------------------------

    def _tcp_listener(self) -> socket.socket:
        try:
            family = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)[0][0]
            listener = socket.create_server((self.host, self.port), family=family, backlog=BACKLOG)
        except OSError as exc:
            raise DebugEndpointError(
                f"cannot serve TCP on {self.host}:{self.port}: {exc.strerror or exc}"
            ) from exc
        self.port = listener.getsockname()[1]
        return listener

    def _claim(self) -> socket.socket:
        """Find the socket's place, check it, bind, and write the token, under the dir lock."""
        if self._explicit_path:
            assert self.path is not None
            directory = self.path.parent
            _endpoints.private_directory(directory, create=False)
            candidates = [self.path]
        else:
            directory = _endpoints.endpoint_dir()
            _endpoints.private_directory(directory, create=True)
            names = [self.name] + [f"{self.name}-{n}" for n in range(2, _endpoints.MAX_SUFFIX + 1)]
            candidates = [directory / f"{name}.sock" for name in names]
        with _endpoints.directory_lock(directory):
            for path in candidates:
                seen = _endpoints.probe(path)
                if seen.state == "stale":
                    _endpoints.remove_stale(path)
                elif seen.state != "absent":
                    if self._explicit_path:
                        if seen.state == "other":
                            raise DebugEndpointError(
                                f"{path} exists and is not a socket; not deleting it"
                            )
                        raise DebugEndpointError(
                            f"{path} is served by {_endpoints.owner_text(path, seen.pid)}; "
                            "stop it or choose another path"
                        )
                    continue  # the name is taken: try the next one
                if not self._explicit_path:
                    self.name = path.name.removesuffix(".sock")
                self.path = path
                return self._bind(directory, path)
        raise DebugEndpointError(
            f"{self.name} to {self.name}-{_endpoints.MAX_SUFFIX} are all taken in {directory}; "
            "pass another name"
        )

    def _bind(self, directory: Path, path: Path) -> socket.socket:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        token_path, description_path = _endpoints.companions(path)
        made: list[tuple[Path, tuple[int, int]]] = []
        try:
            listener.bind(str(path))
            # Nobody else can enter the directory, so the socket's mode can be set after
            # bind: no process-wide umask change.
            os.chmod(path, 0o600)
            info = os.lstat(path)
            made.append((path, (info.st_dev, info.st_ino)))
            listener.listen(BACKLOG)
            made.append((token_path, _endpoints.write_private(token_path, self.token)))
            description = _endpoints.describe(
                path, name=self.name, address=f"unix:{path}", started=self.started
            )
            made.append((description_path, _endpoints.write_private(description_path, description)))
        except OSError as exc:
            listener.close()
            for made_path, identity in made:
                _endpoints.remove_if_same(made_path, identity)
            raise DebugEndpointError(f"cannot serve at {path}: {exc.strerror or exc}") from exc
        self._cleanup = weakref.finalize(
            self, _remove_files, directory, made, self.token, os.getpid()
        )
        return listener

    # -- the loop ----------------------------------------------------------------------------

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to start(), or logged once running
            if not self._ready.is_set():
                self._failure = exc
            else:
                logger.warning("mapstore debug endpoint stopped: %s", exc)
        finally:
            self._ready.set()
            loop.close()

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        sessions: set[asyncio.Task[None]] = set()
        listener = self._listener
        assert listener is not None

        async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            sessions.add(task)
            try:
                await _Session(self, reader, writer).run()
            except asyncio.CancelledError:
                writer.close()  # the server is stopping
            except Exception:  # never "Unhandled exception in client_connected_cb"
                logger.debug("debug connection failed", exc_info=True)
                writer.close()
            finally:
                sessions.discard(task)

        # asyncio accepts up to ``backlog`` connections per turn: a small batch, so refused
        # ones are closed before more are taken; then the kernel's queue is made large again.
        if self.tcp:
            server = await asyncio.start_server(
                on_client, sock=listener, limit=HELLO_MAX_BYTES, backlog=ACCEPT_BATCH
            )
        else:
            server = await asyncio.start_unix_server(
                on_client, sock=listener, limit=HELLO_MAX_BYTES, backlog=ACCEPT_BATCH
            )
        listener.listen(BACKLOG)
        self._ready.set()
        async with server:
            await self._stopping.wait()
            server.close()
            for task in list(sessions):
                task.cancel()
            await asyncio.gather(*sessions, return_exceptions=True)

    # -- requests ----------------------------------------------------------------------------

    def call(self, method: str, params: dict[str, Any]) -> Any:
        """Answer one request (runs on the server's thread; reads the store, changes nothing)."""
        if method not in READ_METHODS:
            raise ValueError(f"unknown method {method!r}")
        if method == "dry_run" and not self.allow_dry_run:
            raise PermissionError("dry runs are off: the app did not allow_dry_run")
        for name, expected, what in (("channel", str, "a string"), ("limit", int, "an integer")):
            value = params.get(name)
            if value is not None and (not isinstance(value, expected) or isinstance(value, bool)):
                raise TypeError(f"{name!r} must be {what}")
        return getattr(self.reader, method)(**params)  # unknown params: TypeError
