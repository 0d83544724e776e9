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
from mapstore_core.link._connection import Connection, Told
from mapstore_core.link._fleet import FleetTracker, fleet_diagnostics
from mapstore_core.link._registry import (
    MAX_DEADLINE_AHEAD_MS,
    MAX_RECORD_BYTES,
    Counters,
    announced_run,
    read_announcement,
    read_counters,
    read_registry,
)
from mapstore_core.link._wire import Keys, check_namespace, schema_fingerprint, valid_text

__all__ = ["MISSED_BEATS", "Presence", "fetch_records", "live_namespaces", "redis_ms"]

logger = logging.getLogger("mapstore_core.link")

MISSED_BEATS = 3
"""A process that misses this many heartbeats is gone."""


def redis_ms(client: Any) -> int:
    """Redis's clock (``TIME``) in milliseconds."""
    seconds, micros = client.time()
    return int(seconds) * 1000 + int(micros) // 1000


_SCAN_COUNT = 500
_SCAN_CALLS = 20
"""A look for namespaces reads at most ``_SCAN_CALLS`` pages of ``_SCAN_COUNT`` keys."""


def live_namespaces(
    client: Any, refused: type[Exception], *, limit: int, exclude: str | None = None
) -> tuple[list[str], bool]:
    """Namespaces at this Redis with a live process (sorted, ``limit`` at most), and more?.

    The second value says whether there may be more than those returned. One ``SCAN``
    (``MATCH mapstore:*:procs``) over at most ``_SCAN_CALLS`` pages: a big Redis is not read
    whole, and "may be more" is then True. Then one ``ZRANGEBYSCORE`` per registry found: a
    deadline from now (Redis's clock) up to the furthest a heartbeat can set. A key that is
    no valid namespace's (not UTF-8, odd characters) or of another type (``refused``:
    Redis's ``ResponseError``) is skipped. Other Redis errors propagate.
    """
    now_ms = redis_ms(client)
    found: set[str] = set()
    cursor: Any = 0
    more = False
    for _ in range(_SCAN_CALLS):
        cursor, keys = client.scan(cursor, match="mapstore:*:procs", count=_SCAN_COUNT)
        for key in keys:
            namespace = _namespace_of(key)
            if namespace is None or namespace == exclude or namespace in found:
                continue
            try:
                live = client.zrangebyscore(
                    key, now_ms, now_ms + MAX_DEADLINE_AHEAD_MS, start=0, num=1
                )
            except refused:
                continue
            if live:
                found.add(namespace)
        if not cursor:
            break
    else:
        more = True  # the scan stopped before the end of the keyspace
    names = sorted(found)
    return names[:limit], more or len(names) > limit


def _namespace_of(key: object) -> str | None:
    """The namespace of a registry key ``mapstore:NS:procs``, or None if it is no valid one."""
    if isinstance(key, bytes):
        try:
            key = key.decode()
        except UnicodeDecodeError:
            return None
    if not isinstance(key, str) or not key.startswith("mapstore:") or not key.endswith(":procs"):
        return None
    try:
        return check_namespace(key[len("mapstore:") : -len(":procs")])
    except ValueError:
        return None


def fetch_records(client: Any, keys: list[str]) -> list[Any]:
    """The values of ``keys`` (announcements), None for those over ``MAX_RECORD_BYTES``.

    Their lengths are asked first: a hostile namespace cannot make a reader pull gigabytes.
    """
    if not keys:
        return []
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.strlen(key)
    lengths = pipe.execute(raise_on_error=False)
    wanted = [
        key
        for key, length in zip(keys, lengths, strict=True)
        if isinstance(length, int) and 0 < length <= MAX_RECORD_BYTES
    ]
    values = dict(zip(wanted, client.mget(wanted), strict=True)) if wanted else {}
    return [values.get(key) for key in keys]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mapstore")
    except PackageNotFoundError:
        return "unknown"


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
        self._last_beat_ms: int | None = None  # Redis's clock at our last heartbeat
        self._settled_at_ms: int | None = None  # since when our beats have been regular
        self._twins: set[str] = set()  # incarnations of another process under our name, told
        self._told_over = 0  # the registry's excess last told
        self._told = Told()
        self._twin_seen = -1e9  # when another run last beat under our name (monotonic)
        self._reclaim_after = 0.0  # an overwritten announcement is reclaimed once per 10 s

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
            if info.process is None and valid_text(info.channel) and valid_text(info.id):
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
        # Any text that cannot be UTF-8 (a file name decoded with surrogateescape, say)
        # becomes "?": a record every reader can parse, rather than one none can.
        encoded = json.dumps(record, ensure_ascii=False).encode("utf-8", "replace")
        pipe.set(self._keys.proc(self._name), encoded, px=self._record_ttl_ms())
        pipe.set(self._keys.stat(self._name), self._stats_json(), px=self._record_ttl_ms())
        pipe.zadd(self._keys.procs, {self._name: self._deadline(now_ms)})
        self._execute(pipe)

    def _execute(self, pipe: Any) -> list[Any]:
        """Run a pipeline; a command Redis refused (full: OOM) answers None, and is logged.

        Connection failures still raise (the writer reconnects); a refusal must not stop
        the heartbeat, nor shipping behind it.
        """
        results: list[Any] = pipe.execute(raise_on_error=False)
        refused = [r for r in results if isinstance(r, Exception)]
        if refused:
            if self._told.due("refused"):
                logger.warning(
                    "link %r: Redis refused %d heartbeat write(s): %s",
                    self._name,
                    len(refused),
                    refused[0],
                )
            for error in refused:
                if not isinstance(error, self._connection.response_error):
                    raise error  # the connection, not a refusal
        return [None if isinstance(r, Exception) else r for r in results]

    def leave(self) -> None:
        """Leave the registry (a clean goodbye: the others close our producers at once)."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.zrem(self._keys.procs, self._name)
        pipe.delete(self._keys.proc(self._name))
        self._execute(pipe)

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
                "i": self._incarnation,
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
            pipe = self._redis.pipeline(transaction=False)
            pipe.zrange(keys.procs, 0, -1, withscores=True)
            (procs,) = self._execute(pipe)
        else:
            pipe = self._redis.pipeline(transaction=False)
            pipe.get(keys.stat(self._name))  # who beat under our name since our last beat
            pipe.zadd(keys.procs, {self._name: self._deadline(now_ms)})
            pipe.pexpire(keys.proc(self._name), self._record_ttl_ms())
            pipe.getrange(keys.proc(self._name), 0, 1023)  # whose run it announces
            pipe.set(keys.stat(self._name), self._stats_json(), px=self._record_ttl_ms())
            pipe.zrange(keys.procs, 0, -1, withscores=True)
            before, _, still_there, head, _, procs = self._execute(pipe)
            self._check_twin(before)
            if (
                still_there
                and announced_run(head) != self._incarnation
                and time.monotonic() - self._twin_seen > 60.0  # a twin: the newest run wins
                and time.monotonic() >= self._reclaim_after
            ):
                # Our announcement names another run: overwritten (by a process under our
                # name, or by hand). Its readers may have closed our producers: announce
                # again and re-send every producer's newest.
                self._tell_once(
                    "overwritten",
                    f"this process's announcement was overwritten with another run's; "
                    f"announcing {self._name!r} again and re-sending every newest value",
                )
                self._reclaim_after = time.monotonic() + 10.0
                self.announce()
                self._on_lost()
            elif still_there and self._announced_as != self._port.shape():
                self.announce()  # producers or consumers changed: keep the announcement true
            if not still_there:  # Redis restarted empty: announce again, resend every value
                logger.warning("link %r: Redis lost the namespace; announcing again", self._name)
                self.announce()
                self._on_lost()
        settled = self._settle(now_ms)
        if not isinstance(procs, list):  # the registry key is of another type: Redis refused
            self._tell_once(
                "registry",
                f"the process registry {keys.procs!r} is not a sorted set: no process is "
                "listed or reaped until it is repaired (delete the key)",
            )
            procs = []
        registry = read_registry(procs, now_ms, keep=None if self._observer else self._name)
        if registry.refused and not self._observer:
            pipe = self._redis.pipeline(transaction=False)
            pipe.zrem(keys.procs, *registry.refused)
            self._execute(pipe)  # no process's: not a name, or
            self._port.news(  # an impossible deadline; nobody could ever reap them
                "link_dropped",
                f"link {self._name!r} removed {len(registry.refused)} member(s) of the process "
                "registry that are no process's (not a valid name, or an impossible deadline)",
            )
        if registry.over != self._told_over:
            self._told_over = registry.over
            if registry.over:
                self._port.news(
                    "link_dropped",
                    f"the namespace lists {registry.over} process(es) over the "
                    f"{len(registry.deadlines)} this link follows; the most recent are kept",
                )
        deadlines = registry.deadlines
        for name, deadline in deadlines.items():
            self._deadlines[name] = max(self._deadlines.get(name, 0), deadline)
        self._read_fleet(now_ms, deadlines, settled)
        if settled:
            self._reap(now_ms, deadlines)

    def _settle(self, now_ms: int) -> bool:
        """Whether this process has beaten regularly for a whole grace period.

        A beat that comes more than two heartbeats after the last one means Redis was
        frozen or away, or this process was: beats the others missed meanwhile do not
        count, so nobody is judged until a grace period of regular beats has passed.
        """
        last, self._last_beat_ms = self._last_beat_ms, now_ms
        if last is None or now_ms - last > 2 * self._heartbeat * 1000:
            self._settled_at_ms = now_ms
        since = self._connection.connected_since
        if since is None or time.monotonic() - since < 2 * self._heartbeat:
            return False  # after a reconnect, give every process a chance to beat again
        settled_at = self._settled_at_ms if self._settled_at_ms is not None else now_ms
        return now_ms - settled_at >= MISSED_BEATS * self._heartbeat * 1000

    def _tell_once(self, key: str, message: str) -> None:
        """Log and tell something wrong in Redis, at most once a minute per ``key``."""
        if self._told.due(key):
            logger.warning("link %r: %s", self._name, message)
            self._port.news("link_dropped", message)

    def _check_twin(self, raw: Any) -> None:
        """Tell once when another process heartbeats under this one's name."""
        counters = read_counters(raw)
        other = counters.run if counters is not None else ""
        if not other or other == self._incarnation:
            return
        self._twin_seen = time.monotonic()
        if other in self._twins:
            return
        self._twins.add(other)
        message = (
            f"another process heartbeats under this process's name {self._name!r} (run "
            f"{other}): give each process its own name; the others follow only the run whose "
            "announcement is current and drop the other's updates"
        )
        logger.warning("link %r: %s", self._name, message)
        self._port.news("link_status", message)

    def _read_fleet(self, now_ms: int, deadlines: dict[str, int], settled: bool) -> None:
        """Feed the fleet tracker: deadlines, counters, and the announcements that changed.

        Everything goes through ``_registry`` (a process without a valid record is listed
        by name only). The store gets what was read (new findings become ``diagnostic``
        events).
        """
        names = list(deadlines)
        stats: dict[str, Counters | None] = {}
        if names:
            raws = self._redis.mget([self._keys.stat(name) for name in names])
            for name, raw in zip(names, raws, strict=True):
                stats[name] = read_counters(raw)
        wanted = self.fleet.wanted_records(deadlines, stats)
        records = {}
        if wanted:
            raws = fetch_records(self._redis, [self._keys.proc(name) for name in wanted])
            for name, raw in zip(wanted, raws, strict=True):
                record = read_announcement(raw)
                if record is not None:
                    records[name] = record
        self.fleet.update(now_ms, deadlines, stats, records, settled=settled)
        try:
            findings = self.diagnostics()
        except Exception as exc:  # a rule over what others announced must not stop the beat
            logger.debug("link %r: the fleet rules failed", self._name, exc_info=True)
            self._tell_once("rules", f"the fleet rules failed on what was announced ({exc!r})")
            findings = []
        self._port.fleet(self.fleet.processes(), findings)
        self.seen_once.set()

    def diagnostics(self) -> list[Diagnostic]:
        """The fleet rules over what was last read."""
        fleet = self.fleet
        reads = self._port.reads
        return fleet_diagnostics(
            fleet.processes(),
            lambda channels: [info for channel in channels for info in reads.producers(channel)],
            fleet.schema_documents(),
            own=None if self._observer else self._name,
            now=fleet.now_ms / 1000 if fleet.now_ms else time.time(),
        )

    def processes(self) -> list[ProcessInfo]:
        """Every process of the namespace (see ``StoreLink.processes``)."""
        return self.fleet.processes()

    # -- reaping -------------------------------------------------------------------------

    def _reap(self, now_ms: int, deadlines: dict[str, int]) -> None:
        """Reap every process whose heartbeat deadline has passed, with producers or not.

        Its producers close here; unless an observer, it also leaves Redis: its registry
        member, announcement, counters and ``latest`` fields. Called only once this process
        has beaten regularly for a grace period (``_settle``).
        """
        grace = int(MISSED_BEATS * self._heartbeat * 1000)
        remote = self._port.remote_processes()
        for process in remote:
            if process != self._name:  # producers of a process no longer in the registry
                self._deadlines.setdefault(process, now_ms + grace)
        for process in [p for p in self._deadlines if p not in deadlines and p not in remote]:
            del self._deadlines[process]  # left cleanly, or reaped by another process
        for process, deadline in list(self._deadlines.items()):
            if now_ms <= deadline or process == self._name:
                continue
            missed = (now_ms - deadline) / 1000 + MISSED_BEATS * self._heartbeat
            reason = (
                f"process {process!r} missed {MISSED_BEATS} heartbeats "
                f"(last seen {missed:.1f} s ago on Redis's clock)"
            )
            fields = self._latest_fields(process, self.retire(process, reason))
            del self._deadlines[process]
            self._on_gone(process)
            if self._observer:
                continue  # an observer writes nothing; the processes reap each other
            pipe = self._redis.pipeline(transaction=False)
            pipe.zrem(self._keys.procs, process)
            pipe.delete(self._keys.proc(process), self._keys.stat(process))
            for channel, names in fields.items():
                pipe.hdel(self._keys.latest(channel), *names)
            self._execute(pipe)

    def _latest_fields(
        self, process: str, held: list[tuple[str, str, Any]]
    ) -> dict[str, list[str]]:
        """The ``latest`` hash fields of a process's producers.

        Those holding a value here (``held``, from ``values_of``) and those it announced.
        """
        fields: dict[str, list[str]] = {}
        known = {(channel, pid) for channel, pid, _value in held}
        record = self.fleet.record(process)
        if record is not None:
            known.update((channel, pid) for channel, pid, _kind, _where in record.producers)
        for channel, pid in known:
            fields.setdefault(channel, []).append(Keys.field(process, pid))
        return fields

    def retire(self, process: str, reason: str) -> list[tuple[str, str, Any]]:
        """Close every producer of ``process`` here, keeping their last values as stale.

        Any thread (the reader calls it when a process restarted): it touches only the
        fleet tracker and the port. Returns those values: (channel, producer id, value).
        """
        held = self._port.values_of(process)
        self.fleet.keep_stale(process, held)
        closed = self._port.close_process(process, reason)
        if closed:
            logger.info("link %r: %s; closed %d producer(s)", self._name, reason, closed)
        return held
