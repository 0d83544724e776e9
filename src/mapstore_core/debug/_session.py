"""One connection to a ``DebugServer``: the handshake, the requests, and what it is sent.

- A Unix domain socket that only this user can open (mode 0600, in a real 0700 directory of
  the user, reached through no other user's directory or symlink), named after the program
  (``app.sock`` for ``python app.py``) so a restarted app comes back at the same address; TCP
  only on request, on loopback unless a host is given. Files are removed at exit; a live
  socket is never replaced (``_endpoints``).
- Every connection starts with a versioned ``hello`` carrying a token (generated per process,
  written next to the socket with mode 0600, or given by the user), within ``HELLO_TIMEOUT``
  and ``HELLO_MAX_BYTES``. A wrong or missing token gets an ``error`` and the connection is
  closed; nothing else is disclosed. Connections waiting for their hello are capped
  (``max_pending``): one more pushes out the one that has waited longest (told ``busy``), so
  silent connections only push each other out and a client with the token gets in at once.
  Clients are capped too (``max_clients``); one over that cap is told ``busy``.
- JSON lines only (``_wire``); a malformed, oversized or unexpected message closes that
  connection with an error; a request the server can answer but not satisfy (unknown method,
  bad params, an answer over ``MAX_ANSWER_BYTES``, or one in parts while the clients are
  already being sent ``ANSWERS_IN_FLIGHT`` characters of such) gets an error response and the
  connection stays. No input ever raises out of a session: the app never prints a traceback
  for a client.
- A client that does not take what it is sent within ``WRITE_TIMEOUT`` (one write's worth:
  it stopped reading) is cut off, with a warning naming it on ``mapstore_core.debug``: what
  it held (its share of ``ANSWERS_IN_FLIGHT``, its buffers, a state in parts) is released,
  and the other clients never wait for it.
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
import hmac
import logging
import math
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol, get_args

from mapstore_core._errors import DebugProtocolError
from mapstore_core._events import (
    EVENT_FORMAT,
    STATE_KINDS,
    EventKind,
    StoreEvent,
    event_stub,
    event_to_json,
)
from mapstore_core._wake import WakeOnceBuffer
from mapstore_core.debug._endpoints import peer_credentials
from mapstore_core.debug._reads import ServedStore
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

__all__ = ["NOTABLE_KINDS", "Host", "Session"]

logger = logging.getLogger("mapstore_core.debug")

HELLO_TIMEOUT = 5.0

HELLO_MAX_BYTES = 65_536

EVENTS_PER_WRITE = 256

LINGER_SECONDS = 1.0

LINGER_BYTES = 8 * MAX_MESSAGE_BYTES

VALUES_QUEUED = 64
"""Queued events per client that keep their update's value; later ones leave it out."""

WRITE_BYTES = 262_144
"""Bytes of event lines written to a client before waiting for it to take them."""

WRITE_TIMEOUT = 5.0
"""Seconds a client has to take one write's worth (a message or a part, at most
``MAX_MESSAGE_BYTES``, or ``WRITE_BYTES`` of events); one that does not has stopped reading
and is cut off, so it cannot hold the answers budget (``ANSWERS_IN_FLIGHT``), its place or
its buffers for ever. A client that reads 1 MB/s never is."""

READ_CHUNK = 65_536

MAX_ERROR_CHARS = 2_000

ANSWERS_IN_FLIGHT = MAX_ANSWER_BYTES
"""Characters of answers in parts that all clients together may be sent at once."""

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


class Host(Protocol):
    """What a session needs of its server (``DebugServer`` is one)."""

    store: ServedStore
    token: str
    name: str
    allow_dry_run: bool
    queue_size: int
    max_clients: int
    max_pending: int
    awaiting_hello: dict[Session, asyncio.Timeout]
    """The connections waiting for their hello, the longest waiting first, with the
    deadline of each (moved to now to push one out)."""
    clients: int
    lingering: int
    answering: int

    def call(self, method: str, params: dict[str, Any]) -> Any:
        """Answer one request."""
        ...


class Session:
    """One connection: handshake, then requests in and events out. Never raises out."""

    def __init__(
        self, server: Host, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
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
        self.pushed_out = False
        """Set when a newer connection took this one's place in ``awaiting_hello``."""

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
        await self.drain()

    async def drain(self) -> None:
        """Wait until the client has taken what it was sent, at most ``WRITE_TIMEOUT``.

        Raises:
            _Stalled: it did not, so it stopped reading; the session ends (``cut_off``).
        """
        try:
            async with asyncio.timeout(WRITE_TIMEOUT):
                await self.writer.drain()
        except TimeoutError:  # an OSError: raised as something the "went away" paths miss
            raise _Stalled(
                f"a client of {self.server.name!r} ({_peer(self.writer)}) did not read what "
                f"it was sent for {WRITE_TIMEOUT:g} s; its connection is closed"
            ) from None

    def cut_off(self, stalled: _Stalled) -> None:
        """End a stalled client's connection now: its unsent bytes are dropped, not flushed.

        ``close()`` would wait for the client to read them first, which it does not.
        Aborting ends the session's read, so the session closes and releases what it held.
        """
        if not self.writer.transport.is_closing():
            logger.warning("mapstore debug endpoint: %s", stalled)
        self.writer.transport.abort()

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

    async def refuse(self, code: str, message: str, *, linger: bool = True) -> None:
        """Send the error, then briefly read and discard what the client is still sending.

        Closing a socket with unread data would reset the connection and could destroy the
        error before the client reads it. Lingering is bounded (time, bytes, and how many
        connections may linger at once); a connection pushed out while silent is not
        lingered on (it sent nothing; its file goes back at once, in a flood of them).
        """
        server = self.server
        with contextlib.suppress(Exception):
            await self.send({"type": "error", "code": code, "message": message})
            if self.writer.can_write_eof():
                self.writer.write_eof()
            if not linger or server.lingering >= server.max_pending:
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
            welcomed = await self.handshake()
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
        except _Stalled as exc:
            self.cut_off(exc)
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
            async with asyncio.timeout(WRITE_TIMEOUT):
                await self.writer.wait_closed()  # what is still queued is flushed...
        self.writer.transport.abort()  # ...or dropped, for a client that does not read

    async def handshake(self) -> bool:
        """Read the hello (in time, small); subscribe, then welcome: nothing is missed."""
        try:
            hello = await self.read_hello()
        except TimeoutError:
            if self.pushed_out:
                await self.refuse(
                    "busy",
                    f"{self.server.max_pending} connections were waiting for their hello; "
                    "this one, the longest waiting, made room for a newer one",
                    linger=False,
                )
            else:
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
                "events": EVENT_FORMAT,
                "name": self.server.name,
                "read_only": not self.server.allow_dry_run,
                "dry_run": self.server.allow_dry_run,
                "tick": TICK_SECONDS,
            }
        )
        return True

    async def read_hello(self) -> dict[str, Any] | None:
        """The hello, within ``HELLO_TIMEOUT``; meanwhile this connection waits in line.

        With ``max_pending`` connections already waiting, the one that has waited longest
        is pushed out (its deadline becomes now, and it is told ``busy``) to make room:
        idle connections cannot keep out a client that sends its hello as it connects.
        """
        waiting = self.server.awaiting_hello
        if len(waiting) >= self.server.max_pending:
            oldest = next(iter(waiting))
            deadline = waiting.pop(oldest)
            if not deadline.expired():  # else it is leaving anyway
                oldest.pushed_out = True
                deadline.reschedule(self.loop.time())
        async with asyncio.timeout(HELLO_TIMEOUT) as deadline:
            waiting[self] = deadline
            try:
                return await self.read(HELLO_MAX_BYTES)
            finally:
                waiting.pop(self, None)

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
        except _Stalled as exc:
            self.cut_off(exc)  # the session's read ends, and it closes
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
                    await self.drain()
        except (OSError, _Stalled):
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


class _Stalled(Exception):
    """A client did not take what it was sent within ``WRITE_TIMEOUT``: it is cut off.

    Not an ``OSError`` (as ``TimeoutError`` is): the paths for a client that went away
    would end it silently, and without dropping what is still queued for it.
    """


def _peer(writer: asyncio.StreamWriter) -> str:
    """Who is at the other end, for a log line: ``process 1234`` or ``127.0.0.1:5678``."""
    peer = writer.get_extra_info("peername")
    if isinstance(peer, tuple):
        return f"[{peer[0]}]:{peer[1]}" if ":" in peer[0] else f"{peer[0]}:{peer[1]}"
    sock = writer.get_extra_info("socket")
    with contextlib.suppress(OSError):
        pid = None if sock is None else peer_credentials(sock)[0]
        if pid is not None:
            return f"process {pid}"
    return "pid unknown"


def _seqs(snapshot: dict[str, Any]) -> dict[str, int]:
    """Each channel's seq as the snapshot holds it (what a client told it is up to)."""
    return {name: extra["seq"] for name, extra in snapshot["channel_state"].items()}
