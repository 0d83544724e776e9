"""The fleet as a linked store sees it: every process of the namespace, and its doctor rules.

A ``FleetTracker`` lives in each ``StoreLink``; the link's writer thread feeds it at every
heartbeat with what Redis holds (the heartbeat deadlines, each process's announcement and
its link counters), all on Redis's clock. The tracker keeps a process that stopped
heartbeating as *gone* for ``GONE_FOR`` seconds, with the last values its producers had
here (stale, never shown as live), then forgets it.

The fleet rules judge what only a fleet can get wrong:

- ``fleet-duplicate-source``: one source (channel, id, ``registered_at``) open and publishing
  in several processes;
- ``schema-mismatch``: processes disagree on a channel's model (``schema_diff`` says how, and
  whether a payload the producer's model accepts can be refused by a consumer's);
- ``process-gone``: a process stopped heartbeating (missed beats, not a clean close) with
  producers open (announced, or values seen here); a process of consumers only gives none.
  It is listed while the process is (``GONE_FOR``);
- ``link-dropping``: a process's link skipped updates in the last minute.

What Redis holds is read through ``_registry`` (typed, bounded values) before it gets here.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from mapstore_core._records import Diagnostic, ProcessInfo, ProducerInfo
from mapstore_core.link._registry import MAX_PROCESSES, Announcement, Counters

__all__ = ["GONE_FOR", "FleetTracker", "ProcessInfo", "fleet_diagnostics", "schema_diff"]

GONE_FOR = 600.0
"""Seconds a gone process stays listed (greyed) before it drops off."""
_DROP_WINDOW_MS = 60_000
_RATE_WINDOW_MS = 10_000
CLEAN = "closed its link"
FLEET = "(fleet)"
"""The ``channel`` of a finding about a whole process rather than one channel."""


class _Proc:
    __slots__ = (
        "alive",
        "announced",
        "deadline",
        "gone_reason",
        "gone_since_ms",
        "record",
        "samples",
        "stale",
    )

    def __init__(self) -> None:
        self.record = _NO_RECORD
        self.announced = -1
        self.deadline = 0
        self.alive = True
        self.gone_since_ms: int | None = None
        self.gone_reason = ""
        self.samples: deque[tuple[int, int, int]] = deque()  # (redis ms, sent, skipped)
        self.stale: list[tuple[str, str, Any]] = []

    def last_beat_ms(self) -> int | None:
        """When it last beat (its deadline less its grace), on Redis's clock."""
        if not self.deadline:
            return None
        return max(0, self.deadline - int(3 * self.record.heartbeat * 1000))


_NO_RECORD = Announcement()


class FleetTracker:
    """What a link knows of the other processes of its namespace (thread-safe)."""

    def __init__(self, own: str | None) -> None:
        self.own = own  # None for an observer: it is no process of the fleet
        self._lock = threading.Lock()
        self._procs: dict[str, _Proc] = {}
        self.now_ms = 0
        self.schemas: dict[str, dict[str, Any]] = {}  # this store's own models (JSON schema)

    # -- fed by the link's writer thread ----------------------------------------------------

    def wanted_records(
        self, deadlines: Mapping[str, int], stats: Mapping[str, Counters | None]
    ) -> list[str]:
        """The processes whose announcement must be (re)read: new ones, or re-announced."""
        with self._lock:
            wanted = []
            for name in deadlines:
                known = self._procs.get(name)
                counters = stats.get(name)
                announced = counters.announced if counters is not None else 0
                if known is None or known.record is _NO_RECORD or known.announced != announced:
                    wanted.append(name)
            return wanted

    def record(self, name: str) -> Announcement | None:
        """The announcement last read of ``name``, if any."""
        with self._lock:
            proc = self._procs.get(name)
            return None if proc is None or proc.record is _NO_RECORD else proc.record

    def update(
        self,
        now_ms: int,
        deadlines: Mapping[str, int],
        stats: Mapping[str, Counters | None],
        records: Mapping[str, Announcement],
        *,
        settled: bool = True,
    ) -> list[str]:
        """Take one heartbeat's reading; return the names that went gone just now.

        ``settled``: this process itself has beaten regularly for a grace period. Until
        then a passed deadline says nothing (Redis was frozen or away, or this process
        was), and nobody is taken for gone for missing beats.
        """
        went: list[str] = []
        with self._lock:
            self.now_ms = now_ms
            for name, deadline in deadlines.items():
                proc = self._procs.get(name)
                if proc is None:
                    proc = self._procs[name] = _Proc()
                record = records.get(name)
                counters = stats.get(name)
                if record is not None:
                    proc.record = record
                    proc.announced = counters.announced if counters is not None else 0
                proc.deadline = max(proc.deadline, deadline)
                if deadline >= now_ms:
                    if not proc.alive:  # came back (a restart under the same name)
                        proc.alive, proc.gone_since_ms, proc.gone_reason = True, None, ""
                        proc.stale = []
                elif proc.alive and settled:
                    self._gone(proc, name, "missed 3 heartbeats", went)
                if counters is not None:
                    proc.samples.append((now_ms, counters.sent, counters.skipped))
                    while proc.samples and now_ms - proc.samples[0][0] > _DROP_WINDOW_MS + 5_000:
                        proc.samples.popleft()
            for name, proc in list(self._procs.items()):
                if name not in deadlines and proc.alive:
                    # gone from the registry: a goodbye before its deadline, or reaped after
                    clean = proc.deadline >= now_ms
                    reason = CLEAN if clean else "missed 3 heartbeats"
                    self._gone(proc, name, reason, went)
                if not proc.alive and name not in deadlines and len(self._procs) > MAX_PROCESSES:
                    del self._procs[name]  # over the bound: the gone ones go first
                elif (
                    not proc.alive
                    and proc.gone_since_ms is not None
                    and now_ms - proc.gone_since_ms > GONE_FOR * 1000
                ):
                    del self._procs[name]
        return went

    def _gone(self, proc: _Proc, name: str, reason: str, went: list[str]) -> None:
        last_beat = proc.last_beat_ms()
        proc.alive = False
        proc.gone_since_ms = min(self.now_ms, self.now_ms if last_beat is None else last_beat)
        proc.gone_reason = reason
        went.append(name)

    def keep_stale(self, name: str, values: list[tuple[str, str, Any]]) -> None:
        """Remember the last values of a gone process's producers, marked stale."""
        with self._lock:
            proc = self._procs.get(name)
            if proc is not None and values:
                proc.stale = values

    # -- read by anyone ----------------------------------------------------------------------

    def processes(self) -> list[ProcessInfo]:
        """Every process: alive ones first, then gone ones (newest gone first); by name."""
        with self._lock:
            now = self.now_ms
            out = [self._info(name, proc, now) for name, proc in self._procs.items()]
        out.sort(key=lambda p: (not p.alive, -(p.gone_since or 0.0), p.name))
        return out

    def _info(self, name: str, proc: _Proc, now: int) -> ProcessInfo:
        record = proc.record
        last_beat = proc.last_beat_ms()
        rate: float | None = None
        drops = drops_minute = 0
        if proc.samples:
            newest = proc.samples[-1]
            drops = newest[2]
            older = [s for s in proc.samples if newest[0] - s[0] <= _RATE_WINDOW_MS]
            first = older[0]
            sent = max(0, newest[1] - first[1])
            # Known as the panel's rates are (mapstore_tui/rates.py): never a guessed 0/s.
            # Nothing ever sent: no rate; else two updates seen, or a whole window watched.
            watched = newest[0] - proc.samples[0][0] >= _RATE_WINDOW_MS
            if newest[0] > first[0] and proc.alive and newest[1] > 0 and (sent >= 2 or watched):
                rate = sent * 1000 / (newest[0] - first[0])
            minute = [s for s in proc.samples if now - s[0] <= _DROP_WINDOW_MS]
            if minute:
                drops_minute = max(0, minute[-1][2] - minute[0][2])
        return ProcessInfo(
            name=name,
            host=record.host,
            pid=record.pid,
            program=record.program,
            started=record.started,
            heartbeat_age=None if last_beat is None else max(0.0, (now - last_beat) / 1000),
            alive=proc.alive,
            gone_since=None if proc.gone_since_ms is None else proc.gone_since_ms / 1000,
            gone_reason=proc.gone_reason,
            producers=list(record.producers),
            consumers=list(record.consumers),
            publish_rate=rate,
            link_drops=drops,
            drops_last_minute=drops_minute,
            schemas=dict(record.schemas),
            version=record.version,
            models=dict(record.documents),
            stale=list(proc.stale),
            me=name == self.own,
        )

    def schema_documents(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Process -> channel -> JSON schema, for the alive processes that announced them."""
        with self._lock:
            return {
                name: dict(proc.record.documents)
                for name, proc in self._procs.items()
                if proc.alive
            }


# -- schema compatibility ------------------------------------------------------------------


def _resolve(schema: Mapping[str, Any], node: Any) -> Any:
    """``node`` with a local ``$ref`` followed (one level; enough to compare field types)."""
    if isinstance(node, dict) and isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        if ref.startswith("#/$defs/"):
            found = (schema.get("$defs") or {}).get(ref[len("#/$defs/") :])
            if isinstance(found, dict):
                return found
    return node


_NOISE = frozenset({"title", "description", "default", "examples"})


_MAX_SHAPE_DEPTH = 16


def _shape(schema: Mapping[str, Any], node: Any, depth: int = 0) -> Any:
    """A field's type with its local ``$ref``s followed, for comparing.

    A recursive model (a tree node whose children are nodes) refers to itself: past 16
    levels the reference is kept as it is rather than followed.
    """
    if depth < _MAX_SHAPE_DEPTH:
        node = _resolve(schema, node)
    if isinstance(node, dict):
        return {k: _shape(schema, v, depth + 1) for k, v in sorted(node.items()) if k not in _NOISE}
    if isinstance(node, list):
        return [_shape(schema, v, depth + 1) for v in node]
    return node


def _type_name(shape: Any) -> str:
    if isinstance(shape, dict):
        if "type" in shape:
            return str(shape["type"])
        if "anyOf" in shape and isinstance(shape["anyOf"], list):
            return " | ".join(_type_name(s) for s in shape["anyOf"])
        if "enum" in shape:
            return "enum"
    return json.dumps(shape, sort_keys=True)[:30]


def _accepts(consumer: Any, producer: Any) -> bool:
    """Whether every value of the producer's field type is one of the consumer's."""
    if consumer == producer or consumer == {}:
        return True
    options = consumer.get("anyOf") if isinstance(consumer, dict) else None
    produced = producer.get("anyOf") if isinstance(producer, dict) else None
    if isinstance(produced, list):
        return all(_accepts(consumer, one) for one in produced)
    if isinstance(options, list):
        return any(_accepts(one, producer) for one in options)
    if (
        isinstance(consumer, dict)
        and isinstance(producer, dict)
        and consumer.get("type") == "number"
        and producer.get("type") == "integer"
    ):
        return True
    return False


def _required(schema: Mapping[str, Any]) -> set[str]:
    """The field names a schema requires (anything else in its ``required`` is ignored)."""
    required = schema.get("required")
    if not isinstance(required, list):
        return set()
    return {name for name in required if isinstance(name, str)}


def schema_diff(producer: Mapping[str, Any], consumer: Mapping[str, Any]) -> tuple[list[str], bool]:
    """How a consumer's model differs from a producer's, and whether that breaks it.

    Returns (changes, breaking): each change names a field (``added``, ``removed``, a type or
    requiredness change); ``breaking`` is True when some payload the producer's model accepts
    is refused by the consumer's (a field the consumer requires that the producer may omit, a
    type the consumer does not accept, an extra field a closed consumer model forbids).
    """
    p_props = producer.get("properties") if isinstance(producer.get("properties"), dict) else {}
    c_props = consumer.get("properties") if isinstance(consumer.get("properties"), dict) else {}
    assert isinstance(p_props, dict) and isinstance(c_props, dict)
    p_req, c_req = _required(producer), _required(consumer)
    closed = consumer.get("additionalProperties") is False
    changes: list[str] = []
    breaking = False
    for name in c_props:
        if name not in p_props:
            required = name in c_req
            changes.append(f"added {name!r} ({'required' if required else 'optional'})")
            breaking |= required
    for name in p_props:
        if name not in c_props:
            changes.append(f"removed {name!r}")
            breaking |= closed
    for name in p_props:
        if name not in c_props:
            continue
        p_shape = _shape(producer, p_props[name])
        c_shape = _shape(consumer, c_props[name])
        if p_shape != c_shape:
            changes.append(f"{name!r} type {_type_name(p_shape)} → {_type_name(c_shape)}")
            breaking |= not _accepts(c_shape, p_shape)
        if name in c_req and name not in p_req:
            changes.append(f"{name!r} became required")
            breaking = True
        elif name in p_req and name not in c_req:
            changes.append(f"{name!r} became optional")
    return changes, breaking


# -- the fleet rules -----------------------------------------------------------------------


def fleet_diagnostics(
    processes: Iterable[ProcessInfo],
    producers_on: Callable[[list[str]], Iterable[ProducerInfo]],
    schemas: Mapping[str, Mapping[str, Mapping[str, Any]]],
    *,
    own: str | None,
    now: float,
) -> list[Diagnostic]:
    """The fleet rules over what a linked store knows (see the module docstring).

    ``producers_on(channels)``: the store's producers of those channels. It is asked only
    for the channels where two processes announce the same source, so a heartbeat with
    10,000 producers in the fleet builds no object per producer (it did: 30 ms and a full
    garbage collection every few beats, in whichever thread allocated next).
    """
    processes = list(processes)
    found: list[Diagnostic] = []
    found += _duplicate_sources(processes, producers_on, own)
    found += _schema_mismatches(processes, schemas)
    for proc in processes:
        if (
            not proc.alive
            and (proc.producers or proc.stale)  # announced, or seen here before it went
            and proc.gone_since is not None
            and proc.gone_reason != CLEAN
        ):
            ago = max(0.0, now - proc.gone_since)
            open_ = max(len(proc.producers), len(proc.stale))
            left = (
                "1 producer open; its last value is stale"
                if open_ == 1
                else f"{open_} producers open; their last values are stale"
            )
            found.append(
                Diagnostic(
                    "process-gone",
                    "error",
                    FLEET,
                    f"@{proc.name}",
                    f"process {proc.name!r} ({proc.host} pid {proc.pid}) stopped heartbeating "
                    f"{ago:.0f} s ago ({proc.gone_reason}) with {left}",
                    "",  # the producer id (@NAME) and the message name it already
                    "find out why it died (OOM, a crash, a lost host); restart it or close "
                    "its producers on shutdown",
                )
            )
        if proc.alive and proc.drops_last_minute:
            found.append(
                Diagnostic(
                    "link-dropping",
                    "warning",
                    FLEET,
                    f"@{proc.name}",
                    f"process {proc.name!r}'s link skipped {proc.drops_last_minute} update(s) "
                    f"in the last minute (each producer's newest still went out)",
                    f"process {proc.name}",
                    "Redis is slow or far, or the process publishes faster than it ships: "
                    "raise max_queue, publish less often, or check Redis's latency",
                )
            )
    return found


def _shared_sources(processes: list[ProcessInfo]) -> list[str]:
    """The channels where two alive processes announce the same source (channel, id, where).

    Keys are strings, not tuples: strings are not tracked by the garbage collector.
    """
    first: dict[str, str] = {}
    channels: dict[str, None] = {}
    for proc in processes:
        if not proc.alive:
            continue
        for channel, pid, kind, where in proc.producers:
            if kind != "bridge" and first.setdefault(f"{channel}\0{pid}\0{where}", proc.name) != (
                proc.name
            ):
                channels[channel] = None
    return list(channels)


def _duplicate_sources(
    processes: list[ProcessInfo],
    producers_on: Callable[[list[str]], Iterable[ProducerInfo]],
    own: str | None,
) -> list[Diagnostic]:
    channels = _shared_sources(processes)
    if not channels:
        return []
    groups: dict[tuple[str, str, str], dict[str, None]] = {}
    for info in producers_on(channels):
        process = info.process if info.process is not None else own
        if process is None or info.publish_count == 0 or info.kind == "bridge":
            continue
        groups.setdefault((info.channel, info.id, info.registered_at), {})[process] = None
    found = []
    for (channel, pid, where), where_from in groups.items():
        if len(where_from) < 2:
            continue
        names = ", ".join(sorted(where_from))
        found.append(
            Diagnostic(
                "fleet-duplicate-source",
                "warning",
                channel,
                pid,
                f"{pid!r} publishes on {channel!r} from the same source in "
                f"{len(where_from)} processes ({names}): one source, {len(where_from)} copies",
                where,
                "run it once (in one worker), or give each copy a distinct id",
            )
        )
    return found


def _schema_mismatches(
    processes: list[ProcessInfo], schemas: Mapping[str, Mapping[str, Mapping[str, Any]]]
) -> list[Diagnostic]:
    by_channel: dict[str, dict[str, list[str]]] = {}  # channel -> fingerprint -> processes
    for proc in processes:
        if proc.alive:
            for channel, fingerprint in proc.schemas.items():
                by_channel.setdefault(channel, {}).setdefault(fingerprint, []).append(proc.name)
    roles: dict[str, tuple[set[str], set[str]]] = {}
    for proc in processes:
        if proc.alive:
            for channel, *_ in proc.producers:
                roles.setdefault(channel, (set(), set()))[0].add(proc.name)
            for channel, _id in proc.consumers:
                roles.setdefault(channel, (set(), set()))[1].add(proc.name)
    found = []
    for channel, prints in sorted(by_channel.items()):
        if len(prints) < 2:
            continue
        makers, takers = roles.get(channel, (set(), set()))
        # the processes whose model is the majority's are the reference; compare each other
        ordered = sorted(prints.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        parts, broken = [], False
        for fingerprint, names in ordered[1:]:
            ref_print, ref_names = ordered[0]
            ref_doc = schemas.get(ref_names[0], {}).get(channel)
            doc = schemas.get(names[0], {}).get(channel)
            these, those = ", ".join(sorted(names)), ", ".join(sorted(ref_names))
            who = f"{these} ({fingerprint}) vs {those} ({ref_print})"
            if ref_doc is None or doc is None:
                parts.append(f"{who}: schemas not announced")
                continue
            verdicts = []
            pairs = []
            if set(names) & makers and set(ref_names) & takers:
                pairs.append(
                    (doc, ref_doc, sorted(set(names) & makers), sorted(set(ref_names) & takers))
                )
            if set(ref_names) & makers and set(names) & takers:
                pairs.append(
                    (ref_doc, doc, sorted(set(ref_names) & makers), sorted(set(names) & takers))
                )
            changes, _ = schema_diff(ref_doc, doc)
            for p_doc, c_doc, p_names, c_names in pairs:
                _, breaking = schema_diff(p_doc, c_doc)
                broken |= breaking
                verdicts.append(
                    f"breaks consumers: a payload {p_names[0]}'s model accepts, {c_names[0]}'s "
                    "rejects"
                    if breaking
                    else f"compatible from {p_names[0]} to {c_names[0]}"
                )
            if not pairs:
                verdicts.append("no producer/consumer pair between them yet")
            parts.append(f"{who}: {'; '.join(changes) or 'same fields'} — {'; '.join(verdicts)}")
        found.append(
            Diagnostic(
                "schema-mismatch",
                "error" if broken else "warning",
                channel,
                "*",
                f"processes disagree on the model of {channel!r}: " + " | ".join(parts),
                "",
                "deploy one model everywhere (roll out consumers that accept both first)",
            )
        )
    return found
