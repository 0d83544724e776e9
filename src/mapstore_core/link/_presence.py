"""Presence: this process in the namespace's registry, and the other processes as it sees them.

At every heartbeat (the writer thread) ``Presence.beat`` pushes this process's heartbeat
deadline, computed from Redis's ``TIME`` so hosts' clocks never matter, with its link
counters; reads every deadline, counter and changed announcement into the ``FleetTracker``
and hands the store what it read (``StorePort.fleet``: ``store.processes()`` and the fleet
findings); and closes here the producers of processes that missed ``MISSED_BEATS``
heartbeats (and, unless an observer, removes them from the registry). When the beat finds
this process's record gone (Redis restarted empty), it announces again and calls
``on_lost`` (shipping then re-sends every newest value).

An observer announces nothing and reaps nothing in Redis: it only reads.

Which thread writes what: everything here is the writer thread's, but ``retire`` (any
thread: it touches only the fleet tracker, which locks, and the port) and the two events
``seen_once`` / the offset, which others only read.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from mapstore_core._port import StorePort
from mapstore_core._records import Diagnostic, ProcessInfo
from mapstore_core.link._connection import Connection
from mapstore_core.link._fleet import FleetTracker, fleet_diagnostics
from mapstore_core.link._wire import Keys, schema_fingerprint

__all__ = ["MISSED_BEATS", "Presence", "redis_ms"]

logger = logging.getLogger("mapstore_core.link")

MISSED_BEATS = 3
"""A process that misses this many heartbeats is gone."""


def redis_ms(client: Any) -> int:
    """Redis's clock (``TIME``) in milliseconds."""
    seconds, micros = client.time()
    return int(seconds) * 1000 + int(micros) // 1000


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mapstore")
    except PackageNotFoundError:
        return "unknown"


def _json_object(raw: Any) -> dict[str, Any] | None:
    """A JSON object read from Redis, or None when it is missing or malformed."""
    if not isinstance(raw, bytes | str) or len(raw) > 4 * 1024 * 1024:
        return None
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _names(procs: Any) -> dict[str, int]:
    """The registry's members (process name -> deadline); a name that is not text is skipped."""
    deadlines: dict[str, int] = {}
    for member, score in procs:
        try:
            name = member.decode() if isinstance(member, bytes) else str(member)
        except UnicodeDecodeError:
            continue
        deadlines[name] = int(score)
    return deadlines


class Presence:
    """Announcements, heartbeats, the fleet tracker and reaping (see the module docstring)."""

    def __init__(
        self,
        connection: Connection,
        port: StorePort,
        keys: Keys,
        *,
        name: str,
        incarnation: str,
        heartbeat: float,
        observer: bool,
        counters: Callable[[], Mapping[str, float]],
        on_lost: Callable[[], None],
        on_gone: Callable[[str], None],
    ) -> None:
        """Wire presence to its link.

        ``counters``: the link's ``stats()``; ``on_lost``: Redis lost our record (shipping
        re-sends); ``on_gone``: a process was reaped (reading forgets its numbers).
        """
        self._connection = connection
        self._redis = connection.client
        self._port = port
        self._keys = keys
        self._name = name
        self._incarnation = incarnation
        self._heartbeat = heartbeat
        self._observer = observer
        self._counters = counters
        self._on_lost = on_lost
        self._on_gone = on_gone
        self._started = time.time()
        self.fleet = FleetTracker(None if observer else name)
        """Every process of the namespace as last read (thread-safe)."""
        self.seen_once = threading.Event()
        """Set once the fleet was read (``wait_ready``)."""
        self.offset_ms = 0.0
        """Redis's clock minus ours, measured at each heartbeat (the reader reads it)."""
        # -- the writer thread's --
        self._announcements = 0
        self._announced_as: int | None = None  # the store's shape when last announced
        self._deadlines: dict[str, int] = {}  # process -> heartbeat deadline, Redis ms

    # -- announcing ----------------------------------------------------------------------

    @property
    def announced(self) -> int:
        """How many times this process announced itself (0: never yet)."""
        return self._announcements

    def record_exists(self) -> bool:
        """Whether Redis holds this process's announcement (gone: Redis lost its data)."""
        return bool(self._redis.exists(self._keys.proc(self._name)))

    def announce(self) -> None:
        """Write this process's announcement and heartbeat (also after Redis lost its data)."""
        reads = self._port.reads
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
            "name": self._name,
            "incarnation": self._incarnation,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "program": os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python",
            "started": self._started,
            "version": _version(),
            "heartbeat": self._heartbeat,
            "schemas": schemas,
            "schema_json": documents,
            "producers": producers,
            "consumers": [[c.channel, c.id] for c in reads.consumers()],
        }
        now_ms = self._now_ms()
        pipe = self._redis.pipeline(transaction=False)
        self._announcements += 1
        pipe.set(self._keys.proc(self._name), json.dumps(record), px=self._record_ttl_ms())
        pipe.set(self._keys.stat(self._name), self._stats_json(), px=self._record_ttl_ms())
        pipe.zadd(self._keys.procs, {self._name: self._deadline(now_ms)})
        pipe.execute()

    def leave(self) -> None:
        """Leave the registry (a clean goodbye: the others close our producers at once)."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.zrem(self._keys.procs, self._name)
        pipe.delete(self._keys.proc(self._name))
        pipe.execute()

    def _now_ms(self) -> int:
        now_ms = redis_ms(self._redis)
        self.offset_ms = now_ms - time.time() * 1000
        return now_ms

    def _deadline(self, now_ms: int) -> int:
        return now_ms + int(MISSED_BEATS * self._heartbeat * 1000)

    def _stats_json(self) -> str:
        """This link's counters, for the fleet's panel (publish rate, link drops)."""
        counts = self._counters()
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
        return int(max(60.0, 10 * self._heartbeat) * 1000)

    # -- the heartbeat -------------------------------------------------------------------

    def beat(self) -> None:
        """Heartbeat; re-announce if Redis lost our record; close processes that went quiet."""
        now_ms = self._now_ms()
        keys = self._keys
        if self._observer:  # reads only: an observer is no process of the fleet
            procs = self._redis.zrange(keys.procs, 0, -1, withscores=True)
        else:
            pipe = self._redis.pipeline(transaction=False)
            pipe.zadd(keys.procs, {self._name: self._deadline(now_ms)})
            pipe.pexpire(keys.proc(self._name), self._record_ttl_ms())
            pipe.set(keys.stat(self._name), self._stats_json(), px=self._record_ttl_ms())
            pipe.zrange(keys.procs, 0, -1, withscores=True)
            _, still_there, _, procs = pipe.execute()
            if still_there and self._announced_as != self._port.shape():
                self.announce()  # producers or consumers changed: keep the announcement true
            if not still_there:  # Redis restarted empty: announce again, resend every value
                logger.warning("link %r: Redis lost the namespace; announcing again", self._name)
                self.announce()
                self._on_lost()
        deadlines = _names(procs)
        for name, deadline in deadlines.items():
            self._deadlines[name] = max(self._deadlines.get(name, 0), deadline)
        self._read_fleet(now_ms, deadlines)
        self._reap(now_ms)

    def _read_fleet(self, now_ms: int, deadlines: dict[str, int]) -> None:
        """Feed the fleet tracker: deadlines, counters, and the announcements that changed.

        Anything malformed in Redis is skipped (a process without a readable record is listed
        by name only). The store gets what was read (new findings become ``diagnostic``
        events).
        """
        names = list(deadlines)
        stats: dict[str, Any] = {}
        if names:
            raws = self._redis.mget([self._keys.stat(name) for name in names])
            for name, raw in zip(names, raws, strict=True):
                stats[name] = _json_object(raw)
        wanted = self.fleet.wanted_records(deadlines, stats)
        records: dict[str, Any] = {}
        if wanted:
            raws = self._redis.mget([self._keys.proc(name) for name in wanted])
            for name, raw in zip(wanted, raws, strict=True):
                record = _json_object(raw)
                if record is not None:
                    records[name] = record
        self.fleet.update(now_ms, deadlines, {k: v for k, v in stats.items() if v}, records)
        self._port.fleet(self.fleet.processes(), self.diagnostics())
        self.seen_once.set()

    def diagnostics(self) -> list[Diagnostic]:
        """The fleet rules over what was last read."""
        fleet = self.fleet
        return fleet_diagnostics(
            fleet.processes(),
            self._port.reads.producers(),
            fleet.schema_documents(),
            own=None if self._observer else self._name,
            now=fleet.now_ms / 1000 if fleet.now_ms else time.time(),
        )

    def processes(self) -> list[ProcessInfo]:
        """Every process of the namespace (see ``StoreLink.processes``)."""
        return self.fleet.processes()

    # -- reaping -------------------------------------------------------------------------

    def _reap(self, now_ms: int) -> None:
        """Close here the producers of processes whose heartbeat deadline has passed."""
        since = self._connection.connected_since
        if since is None or time.monotonic() - since < 2 * self._heartbeat:
            return  # after a reconnect, give every process a chance to beat again
        grace = int(MISSED_BEATS * self._heartbeat * 1000)
        for process in self._port.remote_processes():
            deadline = self._deadlines.setdefault(process, now_ms + grace)
            if now_ms <= deadline:
                continue
            missed = (now_ms - deadline) / 1000 + MISSED_BEATS * self._heartbeat
            reason = (
                f"process {process!r} missed {MISSED_BEATS} heartbeats "
                f"(last seen {missed:.1f} s ago on Redis's clock)"
            )
            self.retire(process, reason)
            self._deadlines.pop(process, None)
            self._on_gone(process)
            if self._observer:
                continue  # an observer writes nothing; the processes reap each other
            pipe = self._redis.pipeline(transaction=False)
            pipe.zrem(self._keys.procs, process)
            pipe.delete(self._keys.proc(process))
            pipe.execute()

    def retire(self, process: str, reason: str) -> None:
        """Close every producer of ``process`` here, keeping their last values as stale.

        Any thread (the reader calls it when a process restarted): it touches only the
        fleet tracker and the port.
        """
        self.fleet.keep_stale(process, self._port.values_of(process))
        closed = self._port.close_process(process, reason)
        if closed:
            logger.info("link %r: %s; closed %d producer(s)", self._name, reason, closed)
