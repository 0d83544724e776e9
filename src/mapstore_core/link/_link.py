"""``StoreLink``: one store shared across processes and machines through Redis.

Local first. The store hands every change of a local producer to the link's sink, under the
channel's lock; the sink numbers it (each producer has its own numbers) and appends it to a
bounded deque: about 0.2 µs, no lock of its own, never a wait on Redis. (Not a
``WakeOnceBuffer``: its lock and exact drop count would double the sink's cost; the link
counts what it skipped from the producers' numbers instead.) Two daemon threads do the rest:

- the *writer* ships slices of the queue (one pipeline per slice, one stream entry per channel
  and slice), announces this process, heartbeats on Redis's clock and closes the producers of
  processes that missed three heartbeats;
- the *reader* follows every channel's stream with one blocking ``XREAD`` and applies what
  other processes sent through the store's own validation and delivery.

A slice is small on purpose: the writer holds the GIL only while it encodes one, and gives it
back at every round trip to Redis, so a publisher flooding the store keeps most of the
interpreter (the writer's share of it is bounded, not whatever a flood makes it).

Under pressure (Redis slow or away, or publishes outrunning the writer: the queue full) the
link coalesces: what is queued stays and goes whole, nothing more is queued (the sink then
only numbers each change), and every 20 ms the writer sends each producer's newest, read
from the producer's own state, until the flood is over. Receivers see a gap (counted,
marked in their history, a ``link_dropped`` event) and then the latest value.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Literal, Self

from mapstore_core._errors import LinkError
from mapstore_core._events import StoreEvent
from mapstore_core._jsonable import jsonable
from mapstore_core._port import LinkedProducer, StorePort
from mapstore_core._records import ChannelUpdate, Diagnostic, ProcessInfo
from mapstore_core.link._fleet import FleetTracker, fleet_diagnostics
from mapstore_core.link._wire import (
    MAX_ENTRY_BYTES,
    Entry,
    Keys,
    check_name,
    check_namespace,
    decode_entry,
    encode_entry,
    entry_header,
    entry_prefix,
    schema_fingerprint,
)

__all__ = ["LinkStatus", "StoreLink"]

logger = logging.getLogger("mapstore_core.link")

LinkStatus = Literal["connecting", "connected", "disconnected", "closed"]

# What the sink queues: (channel, op, producer id, n, timestamp, payload, producer serial).
# The serial keys the link's bookkeeping (an id closed and registered again is another
# producer). Flat, strings and numbers (and the payload): such tuples are untracked by the
# garbage collector, so a full queue does not make every collection slower.
_Item = tuple[str, str, str, int, float, Any, int]
# The update as it travels: (op, producer id, n, timestamp, payload).
_Wire = tuple[str, str, int, float, Any]
# A producer's description: (kind, registered_at, validated).
_Meta = tuple[str, str, bool]

_UNKNOWN: _Meta = ("producer", "", False)  # never used in practice: every id is remembered
_MISSED_BEATS = 3
_SLICE = 500  # updates per pipeline: ~1 ms of the writer holding the GIL (see the docstring)
_FLOOD_PAUSE = 0.02  # seconds between two coalesced sends while a flood lasts
_STREAM_LEN = 100_000  # entries (each a batch); a reader this far behind sees a gap
_READ_COUNT = 100  # entries per XREAD (each up to _SLICE updates)
_OBSERVER_READ_COUNT = 200  # per stream and read: a small batch is never a long GC pause
_OBSERVER_PAUSE = 0.05  # seconds between an observer's reads
_JOIN_PAGE = 10  # entries per XREVRANGE when catching up


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mapstore")
    except PackageNotFoundError:
        return "unknown"


class _Held:
    """What an observer keeps of an entry while it folds a read: not the entry's other ops."""

    __slots__ = ("channel", "meta", "process")

    def __init__(self, entry: Entry, producer_id: str) -> None:
        self.process = entry.process
        self.channel = entry.channel
        self.meta = {producer_id: entry.meta[producer_id]}


class StoreLink:
    """A store's link to the other stores of a namespace on one Redis (``store.link()``).

    ``status`` says where the link stands, ``stats()`` what it has done, ``close()`` ends it
    (idempotent; ``with store.link(...) as link:`` closes on exit). Closing tells the other
    processes that this one's producers are gone and closes theirs in this store.
    """

    def __init__(
        self,
        port: StorePort,
        url: str,
        *,
        namespace: str = "mapstore",
        name: str | None = None,
        heartbeat: float = 1.0,
        max_queue: int = 10_000,
        observer: bool = False,
    ) -> None:
        try:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        except ImportError as exc:
            raise LinkError(
                "store.link() needs the redis extra: pip install 'mapstore[redis]'"
            ) from exc
        try:
            self.namespace = check_namespace(namespace)
            self.name = check_name(name if name is not None else default_name())
        except ValueError as exc:
            raise LinkError(str(exc)) from exc
        if not heartbeat > 0:
            raise LinkError(f"heartbeat must be > 0 seconds, not {heartbeat!r}")
        if max_queue < 1:
            raise LinkError(f"max_queue must be >= 1, not {max_queue!r}")
        self.url = url
        self.observer = observer
        self.heartbeat = float(heartbeat)
        self.incarnation = secrets.token_hex(6)
        self._port = port
        self._reads = port.reads
        self._keys = Keys(self.namespace)
        timeout = max(5.0, 3 * self.heartbeat)  # a reply of big entries on a loaded machine
        try:
            # Any: redis-py types every reply as a union over its decode modes; this client
            # reads bytes, and every reply is checked where it is used.
            self._redis: Any = redis.Redis.from_url(
                url,
                socket_connect_timeout=min(1.0, self.heartbeat),
                socket_timeout=timeout,
                retry=Retry(NoBackoff(), 0),
                client_name=f"mapstore:{self.name}",
            )
        except ValueError as exc:
            raise LinkError(f"cannot use Redis URL {_redact(url)!r}: {exc}") from exc
        try:
            # redis-py hands unknown URL options (a misspelt `ssl_ca_certs`) to the
            # connection class, which would refuse them only when the threads connect, at
            # every retry. Build one connection now (it connects lazily) to refuse them here.
            pool = self._redis.connection_pool
            pool.connection_class(**pool.connection_kwargs)
        except (TypeError, ValueError) as exc:
            self._redis.close()
            reason = str(exc)
            if "unexpected keyword argument" in reason:
                option = reason.rsplit("argument", 1)[-1].strip()
                reason = f"unknown option {option} (see redis-py's URL options)"
            raise LinkError(f"cannot use Redis URL {_redact(url)!r}: {reason}") from exc
        self._errors: tuple[type[Exception], ...] = (redis.RedisError, OSError)
        self._response_error: type[Exception] = redis.ResponseError
        self._bad_streams: set[bytes] = set()
        self._status: LinkStatus = "connecting"
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._woken = False  # the writer was woken and has not drained yet: no need again
        self._resend_all = False  # Redis may have lost what it took: send every newest
        self._flooding = False  # publishes come faster than the link ships: coalescing
        self._unreported = 0  # skipped updates not yet told in a `link_dropped` event
        self._report_after = 0.0
        # Bounded by the sink (it stops queuing when full), not by evicting what is queued.
        self._queue: deque[_Item] = deque()  # only the writer takes from it
        self._queue_size = max_queue
        self._linked: dict[int, LinkedProducer] = {}  # serial -> every local producer
        self._sent_n: dict[int, int] = {}  # serial -> the last number Redis took of each
        self._hashed: dict[LinkedProducer, int] = {}  # the n of each one's `latest` field
        self._meta: dict[tuple[str, str], _Meta] = {}  # (channel, id) -> its description
        self._producer_meta: dict[LinkedProducer, _Meta] = {}
        # (process, channel, producer id) -> the last number applied of a remote producer
        # (to drop re-sends and see gaps); only the reader thread touches it.
        self._remote_n: dict[tuple[str, str, str], int] = {}
        self._next_hash = 0.0
        self._announced_as: int | None = None  # the store's shape when announced
        self._resync = True  # send every producer's newest whose n is past what was acked
        self._announced_channels: set[str] = set()
        self._counts = {"sent": 0, "received": 0, "coalesced": 0, "dropped": 0, "rejected": 0}
        self._lag_ms = 0.0
        self._offset_ms = 0.0  # Redis's clock minus ours, measured at each heartbeat
        self._connected_since: float | None = None
        self._deadlines: dict[str, int] = {}  # process -> heartbeat deadline, Redis ms
        self._incarnations: dict[str, str] = {}
        self._last_ids: dict[bytes, bytes] = {}  # stream key -> last entry id read
        self._stream_channels: dict[bytes, str] = {}
        self._linked_ms: int | None = None  # Redis's clock when the reader first got through
        self._close_lock = threading.Lock()
        self._started = time.time()
        self._announcements = 0
        self._fleet = FleetTracker(None if observer else self.name)
        self._read_once = threading.Event()  # the reader has joined every channel once
        self._seen_once = threading.Event()  # the writer has read the fleet once
        self._own_prefix = entry_prefix(self.name, self.incarnation)
        try:
            current = port.attach(self._observe if observer else self._sink)
        except LinkError:
            self._redis.close()
            raise
        for producer, before in current:
            # Its numbers up to `before` were an earlier link's: none is skipped here. One
            # untouched since the attach gets a number for its state (not queued: the first
            # flush sends the newest); a closed one is left alone.
            if port.adopt(producer, before):
                self._remember(producer, producer.channel_name)
                self._sent_n.setdefault(producer.serial, before)
        self._writer = threading.Thread(
            target=self._run_writer, name=f"mapstore-link-writer:{self.name}", daemon=True
        )
        self._reader = threading.Thread(
            target=self._run_reader, name=f"mapstore-link-reader:{self.name}", daemon=True
        )
        self._writer.start()
        self._reader.start()

    # -- public --------------------------------------------------------------------------

    @property
    def status(self) -> LinkStatus:
        """``connecting`` (never reached Redis yet), ``connected``, ``disconnected``, ``closed``."""
        return self._status

    def stats(self) -> dict[str, float]:
        """What the link has done so far.

        ``sent``: updates written to Redis; ``received``: remote updates applied here;
        ``coalesced``: local updates skipped under pressure (a newer one of the same
        producer went instead); ``dropped``: entries read that were malformed, foreign,
        oversized, or local updates too big to send; ``rejected``: remote payloads this
        store's model refused; ``queue``: local updates waiting for Redis; ``lag_ms``: how
        long the last entry read had waited in Redis (Redis's clock).
        """
        return {
            **self._counts,
            "queue": len(self._queue),
            "lag_ms": round(self._lag_ms, 3),
        }

    def close(self) -> None:
        """Say goodbye on Redis (best effort), stop the threads, close remote producers.

        Idempotent. The other stores close this process's producers at once, with the
        reason; this store closes those of the other processes.
        """
        with self._close_lock:
            if self._status == "closed":
                return
            self._stop.set()
            self._wake.set()
        self._writer.join(timeout=max(5.0, 3 * self.heartbeat))
        self._reader.join(timeout=max(5.0, 3 * self.heartbeat))
        self._port.detach(f"link of process {self.name!r} closed")
        self._remote_n.clear()
        self._set_status("closed")
        self._redis.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"<StoreLink {self.name!r} namespace={self.namespace!r} "
            f"{_redact(self.url)} {self._status}>"
        )

    @property
    def coalescing(self) -> bool:
        """True while publishes outrun the link (its queue filled up).

        Meanwhile it no longer ships every update: every 20 ms it sends each producer's
        newest, and counts the rest as ``coalesced``. It ships every update again once fewer
        than a tenth of ``max_queue`` arrive in 20 ms.
        """
        return self._flooding

    @property
    def url_redacted(self) -> str:
        """The Redis URL without its password, for messages."""
        return _redact(self.url)

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until the link has read the namespace once; False if ``timeout`` ran out.

        Ready means: the processes and every channel's current values and recent history are
        in the store. For scripts that read once and exit (``log-producers --attach``).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        for event in (self._read_once, self._seen_once):
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not event.wait(left):
                return False
        return True

    def processes(self) -> list[ProcessInfo]:
        """Every process of the namespace (this one included, unless an observer).

        Alive ones first, then the gone ones (kept ``GONE_FOR`` seconds, with their producers'
        last values as ``stale``). Updated at every heartbeat, on Redis's clock.
        """
        return self._fleet.processes()

    def _fleet_diagnostics(self) -> list[Diagnostic]:
        return fleet_diagnostics(
            self._fleet.processes(),
            self._reads.producers(),
            self._fleet.schema_documents(),
            own=None if self.observer else self.name,
            now=self._fleet.now_ms / 1000 if self._fleet.now_ms else time.time(),
        )

    # -- the publishing side (any thread, channel lock held) -----------------------------

    def _observe(self, producer: LinkedProducer, op: str, payload: Any, timestamp: float) -> None:
        """An observer publishes nothing: a local change stays in its own store."""

    def _sink(self, producer: Any, op: str, payload: Any, timestamp: float) -> None:
        # The publish path: every line here is paid on every publish (see bench_redis.py).
        n = producer.link_n = producer.link_n + 1
        if op == "pub" and self._flooding:
            return  # the writer sends the producer's newest from its state (and sees the gap)
        channel = producer.channel_name
        if op == "reg":
            self._remember(producer, channel)
        queue = self._queue
        if len(queue) >= self._queue_size:  # full: what is queued stays, whole and in order;
            self._flooding = True  # from now on publishes are coalesced (see _flush), and
            self._wake.set()  # this change too: the writer sends each producer's state
            return
        queue.append((channel, op, producer.id, n, timestamp, payload, producer.serial))
        if not self._woken:
            self._woken = True
            self._wake.set()

    def _remember(self, producer: LinkedProducer, channel: str) -> None:
        meta = (producer.kind, producer.registered_at, producer.validated)
        self._meta[(channel, producer.id)] = meta
        self._producer_meta[producer] = meta
        self._linked[producer.serial] = producer

    # -- the writer thread ---------------------------------------------------------------

    def _set_status(self, status: LinkStatus) -> None:
        if self._status == status or self._status == "closed":
            return
        self._status = status
        self._port.news("link_status", f"link {self.name!r}: {status}")

    def _run_writer(self) -> None:
        backoff = 0.05
        next_beat = 0.0
        while True:
            stopping = self._stop.is_set()
            try:
                if self._status != "connected":
                    self._connect()
                    backoff = 0.05
                    next_beat = 0.0
                # A flush yields at the next heartbeat, so a flood never starves the beat
                # (and never makes this process look dead to the others).
                more = self._flush(until=next_beat) and not stopping
                if time.monotonic() >= next_beat:
                    self._report_skipped()
                    self._beat()
                    next_beat = time.monotonic() + self.heartbeat
                if stopping:
                    if not self.observer:
                        self._flush(until=time.monotonic() + self.heartbeat)
                        self._goodbye()
                    return
                if more:
                    continue
            except self._errors as exc:
                if stopping:
                    return
                self._disconnected(exc)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self.heartbeat / 2)
                continue
            except Exception:  # a bug must not kill the link silently: log, then go on
                logger.exception("link %r: writer failed", self.name)
                if stopping:
                    return
                self._stop.wait(self.heartbeat)
                continue
            # Clear, then look: a sink that appends after the look sees `_woken` False and
            # sets the event, so the wait below never sleeps on a queued update.
            self._wake.clear()
            self._woken = False
            if self._queue:
                continue
            self._wake.wait(max(0.0, min(next_beat - time.monotonic(), self.heartbeat)))

    def _disconnected(self, exc: BaseException) -> None:
        if self._status != "disconnected":
            logger.warning("link %r: Redis unreachable (%s); retrying", self.name, exc)
        self._connected_since = None
        self._resync = True
        self._announced_channels.clear()
        self._set_status("disconnected")

    def _connect(self) -> None:
        self._redis.ping()
        if not self.observer:
            # Back after an outage and our record is gone: Redis restarted empty (or we
            # were away so long that the others closed our producers). Send it all again.
            if self._announcements and not self._redis.exists(self._keys.proc(self.name)):
                self._lost_by_redis()
            self._announce()
        self._resync = True
        self._connected_since = time.monotonic()
        self._set_status("connected")

    def _lost_by_redis(self) -> None:
        """Send every producer's newest again, and its ``latest`` hash field.

        Even those Redis took before: a restart without persistence lost them.
        """
        self._resend_all = True
        self._hashed.clear()

    def _announce(self) -> None:
        """Write this process's announcement and heartbeat (also after Redis lost its data)."""
        reads = self._reads
        self._announced_as = self._port.shape()
        producers, schemas, documents = [], {}, {}
        for info in reads.producers():
            if info.process is None:
                producers.append([info.channel, info.id, info.kind, info.registered_at])
        for channel in reads.channels():
            document = reads.json_schema(channel.name)
            if channel.schema is not None and document is not None:
                schemas[channel.name] = schema_fingerprint(channel.schema, document)
                documents[channel.name] = document
        record = {
            "v": 1,
            "name": self.name,
            "incarnation": self.incarnation,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "program": os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python",
            "started": self._started,
            "version": _version(),
            "heartbeat": self.heartbeat,
            "schemas": schemas,
            "schema_json": documents,
            "producers": producers,
            "consumers": [[c.channel, c.id] for c in reads.consumers()],
        }
        seconds, micros = self._redis.time()
        now_ms = seconds * 1000 + micros // 1000
        self._offset_ms = now_ms - time.time() * 1000
        deadline = now_ms + int(_MISSED_BEATS * self.heartbeat * 1000)
        pipe = self._redis.pipeline(transaction=False)
        self._announcements += 1
        pipe.set(self._keys.proc(self.name), json.dumps(record), px=self._record_ttl_ms())
        pipe.set(self._stats_key(self.name), self._stats_json(), px=self._record_ttl_ms())
        pipe.zadd(self._keys.procs, {self.name: deadline})
        pipe.execute()

    def _stats_key(self, name: str) -> str:
        return f"{self._keys.prefix}:stat:{name}"

    def _stats_json(self) -> str:
        """This link's counters, for the fleet's panel (publish rate, link drops)."""
        counts = self._counts
        return json.dumps(
            {
                "a": self._announcements,
                "sent": counts["sent"],
                "coalesced": counts["coalesced"],
                "dropped": counts["dropped"],
                "rejected": counts["rejected"],
            }
        )

    def _record_ttl_ms(self) -> int:
        return int(max(60.0, 10 * self.heartbeat) * 1000)

    def _beat(self) -> None:
        """Heartbeat; re-announce if Redis lost our record; close processes that went quiet."""
        seconds, micros = self._redis.time()
        now_ms = seconds * 1000 + micros // 1000
        self._offset_ms = now_ms - time.time() * 1000
        if self.observer:  # reads only: an observer is no process of the fleet
            procs = self._redis.zrange(self._keys.procs, 0, -1, withscores=True)
            for member, score in procs:
                name = member.decode() if isinstance(member, bytes) else str(member)
                self._deadlines[name] = max(self._deadlines.get(name, 0), int(score))
            self._observe_fleet(now_ms, procs)
            self._reap(now_ms)
            return
        deadline = now_ms + int(_MISSED_BEATS * self.heartbeat * 1000)
        pipe = self._redis.pipeline(transaction=False)
        pipe.zadd(self._keys.procs, {self.name: deadline})
        pipe.pexpire(self._keys.proc(self.name), self._record_ttl_ms())
        pipe.set(self._stats_key(self.name), self._stats_json(), px=self._record_ttl_ms())
        pipe.zrange(self._keys.procs, 0, -1, withscores=True)
        _, still_there, _, procs = pipe.execute()
        if still_there and self._announced_as != self._port.shape():
            self._announce()  # producers or consumers changed: keep the announcement true
        if not still_there:  # Redis restarted empty: announce again, resend every value
            logger.warning("link %r: Redis lost the namespace; announcing again", self.name)
            self._announce()
            self._announced_channels.clear()
            self._resync = True
            self._lost_by_redis()
            self._flush(until=time.monotonic() + self.heartbeat)
        for member, score in procs:
            name = member.decode() if isinstance(member, bytes) else str(member)
            self._deadlines[name] = max(self._deadlines.get(name, 0), int(score))
        self._observe_fleet(now_ms, procs)
        self._reap(now_ms)

    def _observe_fleet(self, now_ms: int, procs: Any) -> None:
        """Feed the fleet tracker: deadlines, counters, and the announcements that changed.

        Anything malformed in Redis is skipped (a process without a readable record is listed
        by name only). New fleet findings become ``diagnostic`` events.
        """
        deadlines: dict[str, int] = {}
        for member, score in procs:
            try:
                name = member.decode() if isinstance(member, bytes) else str(member)
            except UnicodeDecodeError:
                continue
            deadlines[name] = int(score)
        names = list(deadlines)
        stats: dict[str, Any] = {}
        if names:
            raws = self._redis.mget([self._stats_key(name) for name in names])
            for name, raw in zip(names, raws, strict=True):
                stats[name] = _json_object(raw)
        wanted = self._fleet.wanted_records(deadlines, stats)
        records: dict[str, Any] = {}
        if wanted:
            raws = self._redis.mget([self._keys.proc(name) for name in wanted])
            for name, raw in zip(wanted, raws, strict=True):
                record = _json_object(raw)
                if record is not None:
                    records[name] = record
        self._fleet.update(now_ms, deadlines, {k: v for k, v in stats.items() if v}, records)
        self._port.fleet(self._fleet.processes(), self._fleet_diagnostics())
        self._seen_once.set()

    def _reap(self, now_ms: int) -> None:
        """Close here the producers of processes whose heartbeat deadline has passed."""
        since = self._connected_since
        if since is None or time.monotonic() - since < 2 * self.heartbeat:
            return  # after a reconnect, give every process a chance to beat again
        grace = int(_MISSED_BEATS * self.heartbeat * 1000)
        for process in self._port.remote_processes():
            deadline = self._deadlines.setdefault(process, now_ms + grace)
            if now_ms <= deadline:
                continue
            missed = (now_ms - deadline) / 1000 + _MISSED_BEATS * self.heartbeat
            reason = (
                f"process {process!r} missed {_MISSED_BEATS} heartbeats "
                f"(last seen {missed:.1f} s ago on Redis's clock)"
            )
            self._forget(process, reason)
            if self.observer:
                continue  # an observer writes nothing; the processes reap each other
            pipe = self._redis.pipeline(transaction=False)
            pipe.zrem(self._keys.procs, process)
            pipe.delete(self._keys.proc(process))
            pipe.execute()

    def _forget(self, process: str, reason: str) -> None:
        reads = self._reads
        stale = []
        for info in reads.producers():
            if info.process == process:
                values = reads.values(info.channel)
                key = f"{info.id}@{process}"
                if key in values:
                    stale.append((info.channel, info.id, jsonable(values[key])))
        self._fleet.keep_stale(process, stale)
        closed = self._port.close_process(process, reason)
        for gone in [known for known in self._remote_n if known[0] == process]:
            del self._remote_n[gone]
        self._deadlines.pop(process, None)
        self._incarnations.pop(process, None)
        if closed:
            logger.info("link %r: %s; closed %d producer(s)", self.name, reason, closed)

    def _flush(self, until: float) -> bool:
        """Ship what is queued, a slice at a time, until ``until``; say whether some is left.

        While the link floods (the sink found the queue full and stopped queuing publishes),
        it ships what was queued, then every 20 ms each producer's newest, until fewer than a
        tenth of the queue's size arrive in a pause. After a failure or a reconnect, once the
        queue is drained, every producer's newest update that Redis lacks goes (receivers
        drop what they already have: each update carries its number).
        """
        queue = self._queue
        while True:
            flooding = self._flooding
            if flooding and not queue and self._behind() < max(1, self._queue_size // 10):
                self._flooding = False  # read the producers' state after this, not before
                self._resync = True
            popleft = queue.popleft  # only this thread takes: the length cannot shrink
            items = [popleft() for _ in range(min(len(queue), _SLICE))]
            drained = not queue
            again: list[_Item] = []
            if drained and (self._resync or flooding):
                # Only once the queue is drained: a producer's queued updates (an id's close
                # before its next registration's) go first, in the order they happened.
                self._resync = False
                everyone, self._resend_all = self._resend_all, False
                newest, again = self._newest_missing(everyone)
                items += newest
            if items or again:
                try:
                    self._ship(items, again)
                except BaseException:
                    self._resync = True
                    self._resend_all = self._resend_all or bool(again)
                    raise
            if self._flooding and drained:
                if time.monotonic() >= self._next_hash:
                    self._write_latest()
                if self._stop.is_set() or time.monotonic() + _FLOOD_PAUSE >= until:
                    return True
                self._stop.wait(_FLOOD_PAUSE)  # the publishers keep the interpreter meanwhile
                continue
            if drained:
                if time.monotonic() >= self._next_hash:
                    self._write_latest()
                return False
            if time.monotonic() >= until:
                return True

    def _behind(self) -> int:
        """Updates of the local producers that Redis has not taken (a flood's size)."""
        sent = self._sent_n
        return sum(p.link_n - sent.get(p.serial, 0) for p in list(self._linked.values()))

    def _newest_missing(self, everyone: bool) -> tuple[list[_Item], list[_Item]]:
        """Each producer's newest change that Redis lacks, and (``everyone``) the others'.

        The second list holds the newest of those Redis had: it may have lost them (a
        restart). A producer whose channel is busy (a change under way) is left for the next
        round: its state is read under the lock, so a value never goes under an older number.
        """
        sent = self._sent_n
        missing, again = [], []
        for producer in list(self._linked.values()):
            behind = producer.link_n > sent.get(producer.serial, 0)
            if not (behind or everyone):
                continue
            item = self._newest(producer)
            if item is None:
                self._resync = True  # try again at the next round
                self._resend_all = self._resend_all or everyone
            elif behind:
                missing.append(item)
            else:
                again.append(item)
        return missing, again

    def _ship(self, items: list[_Item], again: list[_Item] | None = None) -> None:
        """One pipeline: an entry per channel (split to stay under the size limit).

        Numbers tell what was skipped: an update whose producer's previous number is not the
        one Redis took last was preceded by updates that never went (coalesced: counted
        here, once). One at or below it is older than what went already: not sent, and
        already counted (a guard: the newest goes only after the queue, read under the lock).
        """
        groups: dict[str, tuple[list[_Wire], dict[str, None]]] = {}
        sent = self._sent_n
        taking: dict[int, int] = {}
        skipped = stale = 0
        for item in items:
            channel, pid, n, serial = item[0], item[2], item[3], item[6]
            last = taking.get(serial)
            if last is None:
                last = sent.get(serial, 0)
            if n <= last:
                stale += 1  # counted in the gap before the newer one that went
                continue
            skipped += n - last - 1
            taking[serial] = n
            group = groups.get(channel)
            if group is None:
                group = groups[channel] = ([], {})
            group[0].append(item[1:6])
            group[1][pid] = None
        for item in again or ():  # sent before; Redis may have lost it: not counted again
            group = groups.get(item[0])
            if group is None:
                group = groups[item[0]] = ([], {})
            group[0].append(item[1:6])
            group[1][item[2]] = None
        if groups:
            pipe = self._redis.pipeline(transaction=False)
            keys = self._keys
            known = self._meta
            for channel, (wires, producer_ids) in groups.items():
                meta = {pid: known.get((channel, pid), _UNKNOWN) for pid in producer_ids}
                stream = keys.stream(channel)
                for entry in self._encode(channel, meta, wires):
                    pipe.xadd(stream, {"m": entry}, maxlen=_STREAM_LEN, approximate=True)
                if channel not in self._announced_channels:
                    pipe.sadd(keys.channels, channel)
            self._execute(pipe)
            self._announced_channels.update(groups)
        sent.update(taking)
        self._counts["sent"] += len(items) - stale
        if skipped:
            self._counts["coalesced"] += skipped
            self._unreported += skipped
        self._report_skipped()

    def _report_skipped(self) -> None:
        """Tell what was skipped in one ``link_dropped`` event, at most every second.

        A flood skips at every send: an event each time would flood the event log in turn.
        """
        if not self._unreported or time.monotonic() < self._report_after:
            return
        skipped, self._unreported = self._unreported, 0
        self._report_after = time.monotonic() + 1.0
        self._port.news(
            "link_dropped",
            f"link {self.name!r} skipped {skipped} update(s): its queue of {self._queue_size} "
            "filled up (publishes outran it, or Redis was slow or away); each producer's "
            "newest went out",
        )

    def _execute(self, pipe: Any) -> None:
        for result in pipe.execute(raise_on_error=False):
            if isinstance(result, Exception):  # e.g. WRONGTYPE: someone clobbered our key
                self._counts["dropped"] += 1
                logger.warning("link %r: Redis refused a write: %s", self.name, result)

    def _write_latest(self) -> None:
        """Bring each producer's ``latest`` hash field up to date (at most every 0.1 s)."""
        self._next_hash = time.monotonic() + min(0.1, self.heartbeat)
        keys = self._keys
        pipe = self._redis.pipeline(transaction=False)
        done: list[tuple[LinkedProducer, _Item]] = []
        for producer in list(self._linked.values()):
            if self._hashed.get(producer) == producer.link_n:
                if producer.closed and self._sent_n.get(producer.serial, 0) >= producer.link_n:
                    self._forget_closed(producer)  # its close is in the stream and the hash
                continue
            item = self._newest(producer)
            if item is None:
                continue  # a change under way: the next round writes it
            channel, op, pid = item[0], item[1], item[2]
            field = keys.field(self.name, pid)
            if op == "close":
                pipe.hdel(keys.latest(channel), field)
            else:
                one = {pid: self._meta.get((channel, pid), _UNKNOWN)}
                encoded = self._encode(channel, one, [item[1:6]])
                if not encoded:
                    continue
                pipe.hset(keys.latest(channel), field, encoded[0])
            done.append((producer, item))
        if not done:
            return
        self._execute(pipe)
        for producer, item in done:
            self._hashed[producer] = item[3]
            if item[1] == "close" and self._sent_n.get(producer.serial, 0) >= item[3]:
                self._forget_closed(producer)

    def _newest(self, producer: LinkedProducer) -> _Item | None:
        """A local producer's newest change, as the sink would have queued it, from its state.

        None when a change is under way (see ``StorePort.newest``).
        """
        newest = self._port.newest(producer)
        if newest is None:
            return None
        op, payload, n, timestamp = newest
        return (producer.channel_name, op, producer.id, n, timestamp, payload, producer.serial)

    def _forget_closed(self, producer: LinkedProducer) -> None:
        """Drop a closed producer's bookkeeping once its close is in Redis.

        Never before: until then it is one of the producers whose newest a resync sends.
        """
        self._hashed.pop(producer, None)
        self._linked.pop(producer.serial, None)
        self._sent_n.pop(producer.serial, None)
        described = self._producer_meta.pop(producer, None)
        key = (producer.channel_name, producer.id)
        if described is not None and self._meta.get(key) is described:
            del self._meta[key]  # unless the id was registered again meanwhile

    def _encode(
        self, channel: str, meta: Mapping[str, tuple[str, str, bool]], wires: list[_Wire]
    ) -> list[bytes]:
        """Entries for a channel's updates, each under the size limit (split in halves)."""
        entry = encode_entry(self.name, self.incarnation, channel, meta, wires)
        if len(entry) <= MAX_ENTRY_BYTES:
            return [entry]
        if len(wires) == 1:
            self._counts["dropped"] += 1
            _op, pid, n, _ts, _payload = wires[0]
            self._port.news(
                "link_dropped",
                f"update {n} of {pid!r} on {channel!r} is {len(entry)} bytes as JSON, over "
                f"the link's {MAX_ENTRY_BYTES}-byte limit: not sent",
            )
            return []
        half = len(wires) // 2
        return self._encode(channel, meta, wires[:half]) + self._encode(channel, meta, wires[half:])

    def _goodbye(self) -> None:
        """Tell the others this process's producers are gone, and leave the registry."""
        now = time.time()
        reason = f"process {self.name!r} closed its link"
        items: list[_Item] = []
        for producer in list(self._linked.values()):
            n = self._port.renumber(producer)
            if n is None:
                continue  # closed: its own close is queued or sent
            items.append(
                (producer.channel_name, "close", producer.id, n, now, reason, producer.serial)
            )
        if items:
            self._ship(items)
        self._write_latest()
        pipe = self._redis.pipeline(transaction=False)
        pipe.zrem(self._keys.procs, self.name)
        pipe.delete(self._keys.proc(self.name))
        pipe.execute()

    # -- the reader thread ---------------------------------------------------------------

    def _run_reader(self) -> None:
        backoff = 0.05
        next_scan = 0.0
        while not self._stop.is_set():
            try:
                if self._linked_ms is None:
                    seconds, micros = self._redis.time()
                    self._linked_ms = seconds * 1000 + micros // 1000
                if time.monotonic() >= next_scan:
                    self._scan_channels()
                    self._read_once.set()
                    next_scan = time.monotonic() + min(0.25, self.heartbeat)
                if not self._last_ids:
                    self._stop.wait(min(0.1, self.heartbeat))
                    continue
                block = int(min(250, self.heartbeat * 1000))
                response = self._redis.xread(
                    dict(self._last_ids),
                    count=_OBSERVER_READ_COUNT if self.observer else _READ_COUNT,
                    block=block,
                )
                if self.observer:
                    self._observe_entries(response or ())
                    self._stop.wait(_OBSERVER_PAUSE)  # a watcher samples: fewer, bigger reads
                    backoff = 0.05
                    continue
                for stream, entries in response or ():
                    followed = self._stream_channels.get(stream)
                    if followed is None:
                        continue
                    for entry_id, fields in entries:
                        self._last_ids[stream] = entry_id
                        self._apply(fields.get(b"m"), followed, entry_id)
                backoff = 0.05
            except self._response_error as exc:  # a key of the wrong type under our prefix
                logger.warning("link %r: Redis refused a read (%s); re-joining", self.name, exc)
                self._stream_channels.clear()
                self._last_ids.clear()
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self.heartbeat / 2)
            except self._errors:
                if self._stop.is_set():
                    return
                # Nothing to re-read: XREAD goes on from the last entry read, and after a
                # restart that lost the data every sender re-sends its newest values.
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self.heartbeat / 2)
            except Exception:  # a bug must not kill the link silently: log, then go on
                logger.exception("link %r: reader failed", self.name)
                self._stop.wait(self.heartbeat)

    def _observe_entries(self, response: Any) -> None:
        """An observer's read: per producer, only its newest publish of the read is applied.

        The publishes it replaces are counted (``publish_count``, rates) but not validated,
        stored in the history or delivered: a panel watching a fleet of 50,000 updates a
        second shows each producer's newest value and rate, and keeps up.
        """
        pending: dict[tuple[str, str, str], tuple[_Held, Any, int]] = {}
        for stream, entries in response:
            followed = self._stream_channels.get(stream)
            if followed is None:
                continue
            for entry_id, fields in entries:
                time.sleep(0)  # let the panel's thread in between entries: keys stay quick
                self._last_ids[stream] = entry_id
                entry = self._decode(fields.get(b"m"), followed, None)
                if entry is None:
                    continue
                self._check_incarnation(entry)
                self._note_lag(entry_id)
                for op in entry.ops:
                    key = (entry.process, entry.channel, op.producer_id)
                    before = pending.pop(key, None)
                    folded = 0
                    if before is not None:
                        if before[1].op == "pub" and op.op == "pub":
                            folded = before[2] + 1
                        else:
                            self._apply_op(*before)
                    # the op alone, not its entry: a folded batch is let go as it is read
                    pending[key] = (_Held(entry, op.producer_id), op, folded)
        for index, (held, op, folded) in enumerate(pending.values()):
            if index % 64 == 63:
                time.sleep(0)
            self._apply_op(held, op, folded)

    def _apply_op(self, entry: Entry | _Held, op: Any, folded: int) -> None:
        """Apply one remote change through the port, dropping re-sends and telling gaps.

        Each producer numbers its changes: one at or below the last applied is a re-send;
        a jump means the sender skipped updates under pressure (a ``gap`` in the history and
        a ``link_dropped`` event, both from the store). ``folded``: publishes just before
        this one that an observer skipped on purpose (counted as publishes, not as a gap).
        """
        process, channel, pid = entry.process, entry.channel, op.producer_id
        key = (process, channel, pid)
        port = self._port
        last = self._remote_n.get(key)
        if last is None:
            if op.op == "close":
                return  # a producer closed before we ever saw it
            kind, where, validated = entry.meta[pid]
            port.apply(
                StoreEvent(
                    "registered",
                    channel,
                    pid,
                    op.timestamp,
                    process=process,
                    where=where,
                    detail={"kind": kind, "validated": validated, "widget": None},
                )
            )
            last = op.n - 1
        if op.n <= last:
            return  # a re-send
        self._remote_n[key] = op.n
        skipped = op.n - last - 1 - folded
        if skipped > 0:
            port.apply(
                StoreEvent(
                    "link_dropped",
                    channel,
                    pid,
                    op.timestamp,
                    process=process,
                    message=f"{skipped} update(s) of {pid!r} in process {process!r} were "
                    "skipped on the way (the link coalesced under pressure); the newest follows",
                    update=ChannelUpdate(
                        channel, pid, "gap", {"skipped": skipped}, 0, op.timestamp, process
                    ),
                )
            )
        if op.op == "pub":
            outcome = port.apply(
                StoreEvent(
                    "published",
                    channel,
                    pid,
                    op.timestamp,
                    process=process,
                    update=ChannelUpdate(
                        channel, pid, "published", op.payload, 0, op.timestamp, process
                    ),
                    detail={"folded": folded} if folded else None,
                )
            )
        elif op.op == "clr":
            outcome = port.apply(StoreEvent("cleared", channel, pid, op.timestamp, process=process))
        elif op.op == "close":
            reason = op.payload if isinstance(op.payload, str) else None
            outcome = port.apply(
                StoreEvent("closed", channel, pid, op.timestamp, process=process, message=reason)
            )
            del self._remote_n[key]
        else:
            outcome = "applied"  # a registration seen again: nothing to do
        if outcome == "applied":
            self._counts["received"] += 1 + folded
        elif outcome == "rejected":
            self._counts["rejected"] += 1

    def _note_lag(self, entry_id: bytes) -> None:
        try:
            entry_ms = int(entry_id.split(b"-", 1)[0])
            self._lag_ms = max(0.0, time.time() * 1000 + self._offset_ms - entry_ms)
        except ValueError:
            pass

    def _scan_channels(self) -> None:
        """Follow channels other processes started streaming since the last scan."""
        members = self._redis.smembers(self._keys.channels)
        for member in members:
            try:
                channel = member.decode() if isinstance(member, bytes) else str(member)
            except UnicodeDecodeError:
                self._counts["dropped"] += 1
                continue
            stream = self._keys.stream(channel).encode()
            if stream in self._stream_channels or stream in self._bad_streams:
                continue
            try:
                self._join(channel, stream)
            except self._response_error as exc:
                self._bad_streams.add(stream)
                self._counts["dropped"] += 1
                logger.warning("link %r: not following %r: %s", self.name, channel, exc)
                self._port.news(
                    "link_dropped", f"channel {channel!r} is not followed: its key is bad ({exc})"
                )

    def _join(self, channel: str, stream: bytes) -> None:
        """Catch up on a channel: every producer's newest value, then the recent history.

        Order matters for ``get()`` (the newest applied wins): first the newest values of
        producers that are quiet (not in the window read), then the window in stream order:
        the last ``history_size`` updates before this link started (bounded by updates, not
        entries: one entry can carry thousands) and every entry written since.
        """
        history = self._port.history_size
        live = self._live_processes()
        # Read before the stream: a writer updates the hash only after the stream, so every
        # value in it is also in the stream unless its producer has been quiet for long.
        latest = self._redis.hgetall(self._keys.latest(channel))
        # Everything since this link started is news; history is what came before. Anything
        # written after these reads comes through XREAD, which goes on from `last_id`.
        since = self._redis.xrange(stream, min=f"{self._linked_ms}-0", max="+")
        last_id = since[-1][0] if since else b"0-0"
        backlog: list[Entry] = []
        budget = history
        upper = f"({self._linked_ms}-0"
        entries_read = 0
        while True:  # newest first, a few entries at a time: one entry can be 5,000 updates
            page = self._redis.xrevrange(stream, max=upper, count=_JOIN_PAGE)
            if not page:
                break
            if entries_read == 0:
                last_id = max(last_id, page[0][0], key=_id_key)
            entries_read += len(page)
            for _entry_id, fields in page:
                if budget <= 0:
                    break
                entry = self._decode(fields.get(b"m"), channel, live)
                if entry is not None:
                    keep = min(budget, len(entry.ops))
                    backlog.append(entry._replace(ops=entry.ops[-keep:]))
                    budget -= keep
            if budget <= 0 or len(page) < _JOIN_PAGE or entries_read >= max(history, 1):
                break
            upper = "(" + page[-1][0].decode()
        # Who is alive is read again after the entries: a process announces itself before
        # it writes, so the sender of everything read is known now. Without this, a process
        # that linked during these reads would be taken for a gone one and the first updates
        # it sent skipped for good (they are behind `last_id`). Its entries are all newer
        # than the first read of the processes, hence in `since` or `latest`, never history.
        live.update(self._live_processes())
        window = [*reversed(backlog)]
        for _entry_id, fields in since:
            entry = self._decode(fields.get(b"m"), channel, live)
            if entry is not None:
                window.append(entry)
        seen = {(entry.process, op.producer_id) for entry in window for op in entry.ops}
        for raw in latest.values():
            entry = self._decode(raw, channel, live)
            if entry is not None:
                quiet = [op for op in entry.ops if (entry.process, op.producer_id) not in seen]
                if quiet:
                    self._apply_entry(entry._replace(ops=quiet), None)
        for entry in window:
            self._apply_entry(entry, None)
        self._stream_channels[stream] = channel
        self._last_ids[stream] = last_id

    def _live_processes(self) -> dict[str, str | None]:
        """Processes whose heartbeat is current, with the incarnation they announced."""
        seconds, micros = self._redis.time()
        now_ms = seconds * 1000 + micros // 1000
        procs = self._redis.zrange(self._keys.procs, 0, -1, withscores=True)
        names = [
            member.decode(errors="replace") if isinstance(member, bytes) else str(member)
            for member, score in procs
            if score >= now_ms
        ]
        records = self._redis.mget([self._keys.proc(name) for name in names]) if names else []
        live: dict[str, str | None] = {}
        for name, raw in zip(names, records, strict=True):
            incarnation = None
            try:
                record = json.loads(raw) if raw is not None else None
                if isinstance(record, dict) and isinstance(record.get("incarnation"), str):
                    incarnation = record["incarnation"]
            except (ValueError, UnicodeDecodeError):
                self._counts["dropped"] += 1
            live[name] = incarnation
        return live

    def _apply(self, raw: Any, channel: str, entry_id: bytes | None) -> None:
        """Apply one entry read live from a stream."""
        entry = self._decode(raw, channel, None)
        if entry is not None:
            self._apply_entry(entry, entry_id)

    def _decode(self, raw: Any, channel: str, live: dict[str, str | None] | None) -> Entry | None:
        """Decode one entry, or None to skip it; a bad one is counted and dropped, never raised.

        With ``live`` (catching up), only what live processes sent in their current run is
        kept: a gone process's history is not resurrected, nor an earlier run's.
        """
        if isinstance(raw, bytes) and raw.startswith(self._own_prefix):
            return None  # our own batch: not even decoded

        def wanted(process: str, incarnation: str) -> bool:
            if process == self.name:
                return False  # our own updates (or an earlier run of this name)
            if live is None:
                return True
            if process not in live:
                return False
            current = live[process]
            return current is None or current == incarnation

        if live is not None and isinstance(raw, bytes):
            header = entry_header(raw)  # skip a gone process's batches without parsing them
            if header is not None and not wanted(*header):
                return None
        try:
            return decode_entry(raw, channel=channel, accept=wanted)
        except (ValueError, TypeError) as exc:
            self._counts["dropped"] += 1
            logger.warning("link %r: dropped an entry on %r: %s", self.name, channel, exc)
            self._port.news(
                "link_dropped", f"dropped a malformed entry on channel {channel!r}: {exc}"
            )
            return None

    def _apply_entry(self, entry: Entry, entry_id: bytes | None) -> None:
        """Apply a decoded entry's updates through the store's validation and delivery."""
        self._check_incarnation(entry)
        if entry_id is not None:  # a live read: how long it waited in Redis
            self._note_lag(entry_id)
        for op in entry.ops:
            self._apply_op(entry, op, 0)

    def _check_incarnation(self, entry: Entry) -> None:
        known = self._incarnations.get(entry.process)
        if known is None:
            self._incarnations[entry.process] = entry.incarnation
        elif known != entry.incarnation:
            self._forget(entry.process, f"process {entry.process!r} restarted")
            self._incarnations[entry.process] = entry.incarnation


def _json_object(raw: Any) -> dict[str, Any] | None:
    """A JSON object read from Redis, or None when it is missing or malformed."""
    if not isinstance(raw, bytes | str) or len(raw) > 4 * 1024 * 1024:
        return None
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _id_key(entry_id: bytes) -> tuple[int, int]:
    """A stream entry id (``b"1795770000123-4"``) as numbers, for ordering."""
    ms, _, seq = entry_id.partition(b"-")
    return (int(ms), int(seq or 0))


def default_name() -> str:
    """``"<host>:<pid>"``: how other processes name this one unless told otherwise."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _redact(url: str) -> str:
    """``url`` without its password, for messages and reprs."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if user else f"{scheme}://***@{host}"
