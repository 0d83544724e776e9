"""Shipping: local changes from the store's sink to Redis, coalescing under pressure.

The store hands every change of a local producer to ``Shipper.sink``, under the channel's
lock; the sink numbers it (each producer has its own numbers) and appends it to a bounded
deque: about 0.2 µs, no lock of its own, never a wait on Redis. (Not a ``WakeOnceBuffer``:
its lock and exact drop count would double the sink's cost; the link counts what it skipped
from the producers' numbers instead.) The writer thread ships slices of the queue
(``flush``: one pipeline per slice, one stream entry per channel and slice, each change as
its event in the compact JSON form, ``_wire.wire_change``) and keeps every producer's
``latest`` hash field up to date.

A slice is small on purpose: the writer holds the GIL only while it encodes one, and gives it
back at every round trip to Redis, so a publisher flooding the store keeps most of the
interpreter.

Under pressure (Redis slow, or publishes outrunning the writer: the queue full) and while
Redis is away (the writer found it unreachable) the link coalesces: what is queued stays and
goes whole, nothing more is queued (the sink then only numbers each change), and every 20 ms
the writer sends each producer's newest, read from the producer's own state, until the
flood is over. The numbers tell what was skipped: it is counted here (``coalesced``), and
every receiver sees the gap.

Which thread writes what: the sink (publishers' threads, under a channel's lock) appends to
the queue, numbers producers (``link_n``), sets ``flooding`` and ``_woken``, and adds a
registered producer to ``_linked`` / ``_described``; everything else is the writer
thread's, which also sets ``flooding`` (Redis away), clears it and ``_woken``, and drops
closed producers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any

from mapstore_core._port import LinkedProducer, StorePort
from mapstore_core.link._connection import Connection
from mapstore_core.link._wire import (
    MAX_ENTRY_BYTES,
    Description,
    Keys,
    encode_entry,
    safe_text,
    valid_text,
    wire_change,
)

__all__ = ["Shipper"]

logger = logging.getLogger("mapstore_core.link")

# What the sink queues: (channel, op, producer id, n, timestamp, payload, producer serial).
# The serial keys the bookkeeping (an id closed and registered again is another producer).
# Flat, strings and numbers (and the payload): such tuples are untracked by the garbage
# collector, so a full queue does not make every collection slower.
_Item = tuple[str, str, str, int, float, Any, int]
# A change as its entry carries it: (n, producer id, its event line).
_Line = tuple[int, str, bytes]

_UNKNOWN: Description = ("producer", "", False)  # never used in practice: every one is known
_SLICE = 200  # changes per pipeline: ~0.6 ms of the writer holding the GIL (see the docstring)
_FLOOD_PAUSE = 0.02  # seconds between two coalesced sends while a flood lasts
_STREAM_LEN = 100_000  # entries (each a batch); a reader this far behind sees a gap


class Shipper:
    """The sink, the queue, slices, flood mode and the ``latest`` hash (see the module)."""

    def __init__(
        self,
        connection: Connection,
        port: StorePort,
        keys: Keys,
        *,
        name: str,
        incarnation: str,
        heartbeat: float,
        max_queue: int,
        stop: threading.Event,
        wake: threading.Event,
    ) -> None:
        self._redis = connection.client
        self._port = port
        self._keys = keys
        self._name = name
        self._incarnation = incarnation
        self._heartbeat = heartbeat
        self._stop = stop
        self._wake = wake  # set by the sink (and close()) to wake the writer
        self.max_queue = max_queue
        # Bounded by the sink (it stops queuing when full), not by evicting what is queued.
        self._queue: deque[_Item] = deque()  # the sink appends; only the writer takes
        self.flooding = False  # the sink sets it (queue full); the writer clears it
        self._woken = False  # the sink sets it (it woke the writer); the writer clears it
        self._linked: dict[int, LinkedProducer] = {}  # serial -> every local producer
        self._described: dict[int, Description] = {}  # serial -> its description
        self._unlinkable: set[int] = set()  # serials whose id or channel cannot be JSON
        # -- the writer thread's --
        self._sent_n: dict[int, int] = {}  # serial -> the last number Redis took of each
        self._hashed: dict[LinkedProducer, int] = {}  # the n of each one's `latest` field
        self._announced_channels: set[str] = set()  # in the `channels` set (as far as known)
        self._resync = True  # send every producer's newest whose n is past what was acked
        self._resend_all = False  # Redis may have lost what it took: send every newest
        self._next_hash = 0.0
        self._beats = 0
        self._unreported = 0  # skipped changes not yet told in a `link_dropped` event
        self._refused = 0  # changes Redis refused, not yet told
        self._refusal = ""  # what Redis said, the last time
        self._told_unlinkable: set[int] = set()
        self._adopted: dict[int, int] = {}  # serial -> the number given its state at attach
        self._report_after = 0.0
        self.counts = {"sent": 0, "coalesced": 0, "dropped": 0}

    # -- the publishing side (any thread, channel lock held) -----------------------------

    def sink(self, producer: Any, op: str, payload: Any, timestamp: float) -> None:
        """Number a local change and queue it (see the module docstring)."""
        # The publish path: every line here is paid on every publish (see bench_redis.py).
        n = producer.link_n = producer.link_n + 1
        if op == "pub" and self.flooding:
            return  # the writer sends the producer's newest from its state (and sees the gap)
        channel = producer.channel_name
        if op == "reg":
            self._remember(producer)
        queue = self._queue
        if len(queue) >= self.max_queue:  # full: what is queued stays, whole and in order;
            self.flooding = True  # from now on publishes are coalesced (see flush), and
            self._wake.set()  # this change too: the writer sends each producer's state
            return
        queue.append((channel, op, producer.id, n, timestamp, payload, producer.serial))
        if not self._woken:
            self._woken = True
            self._wake.set()

    def _remember(self, producer: LinkedProducer) -> None:
        # Where it was registered is description: a lone surrogate (a file name that is not
        # UTF-8) becomes U+FFFD. Its id and channel are names: such a producer cannot cross.
        self._described[producer.serial] = (
            producer.kind,
            safe_text(producer.registered_at),
            producer.validated,
        )
        self._linked[producer.serial] = producer
        if not (valid_text(producer.id) and valid_text(producer.channel_name)):
            self._unlinkable.add(producer.serial)

    def adopt(self, current: list[tuple[LinkedProducer, int]]) -> None:
        """Take over the producers the store had before the link (``StorePort.attach``).

        Their numbers up to ``before`` were an earlier link's: none is skipped here. One
        untouched since the attach gets a number for its state (not queued: the first flush
        sends the newest); a closed one is left alone.
        """
        for producer, before in current:
            if self._port.adopt(producer, before):
                self._remember(producer)
                self._sent_n.setdefault(producer.serial, before)
                if producer.link_n == before + 1:  # a number for its state, not an update
                    self._adopted[producer.serial] = before + 1

    @property
    def queued(self) -> int:
        """Local changes waiting for Redis."""
        return len(self._queue)

    # -- connection events (the writer thread) -------------------------------------------

    def reconnected(self) -> None:
        """Connected (again): once the queue is drained, send what Redis lacks."""
        self._resync = True

    def disconnected(self) -> None:
        """Redis is away: what went in flight may be lost, and the channels set with it.

        Publishes are coalesced until it is back (``flooding``), as when the queue is full.
        """
        self._resync = True
        self._announced_channels.clear()
        # Coalesce from now on: what is queued stays, nothing more is (the newest goes when
        # Redis is back). A queue filling with payloads for a dead Redis would keep them all
        # alive, and the garbage collector would run a full collection over them and the
        # whole heap, in a publisher's thread (bench_redis.py: "Redis killed").
        self.flooding = True

    def redis_lost(self) -> None:
        """Send every producer's newest again, and its ``latest`` hash field.

        Even those Redis took before: a restart without persistence lost them.
        """
        self._resend_all = True
        self._hashed.clear()

    def redis_lost_now(self) -> None:
        """Redis restarted empty under a live connection (a heartbeat found out): resend now."""
        self._announced_channels.clear()
        self._resync = True
        self.redis_lost()
        self.flush(until=time.monotonic() + self._heartbeat)

    def idle(self, timeout: float) -> None:
        """Wait up to ``timeout`` for the sink to queue something (or ``close()``)."""
        # Clear, then look: a sink that appends after the look sees `_woken` False and
        # sets the event, so the wait below never sleeps on a queued change.
        self._wake.clear()
        self._woken = False
        if self._queue:
            return
        self._wake.wait(timeout)

    # -- shipping (the writer thread) ----------------------------------------------------

    def flush(self, until: float) -> bool:
        """Ship what is queued, a slice at a time, until ``until``; say whether some is left.

        While the link floods (the sink found the queue full and stopped queuing publishes),
        it ships what was queued, then every 20 ms each producer's newest, until fewer than a
        tenth of the queue's size arrive in a pause. After a failure or a reconnect, once the
        queue is drained, every producer's newest change that Redis lacks goes (receivers
        drop what they already have: each change carries its number).
        """
        queue = self._queue
        while True:
            flooding = self.flooding
            if flooding and not queue and self._behind() < max(1, self.max_queue // 10):
                self.flooding = False  # read the producers' state after this, not before
                self._resync = True
            popleft = queue.popleft  # only this thread takes: the length cannot shrink
            items = [popleft() for _ in range(min(len(queue), _SLICE))]
            drained = not queue
            again: list[_Item] = []
            if drained and (self._resync or flooding):
                # Only once the queue is drained: a producer's queued changes (an id's close
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
            if self.flooding and drained:
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
        """Changes of the local producers that Redis has not taken (a flood's size)."""
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

        Numbers tell what was skipped: a change whose producer's previous number is not the
        one Redis took last was preceded by changes that never went (coalesced: counted
        here, once). One at or below it is older than what went already: not sent, and
        already counted (a guard: the newest goes only after the queue, read under the lock).
        A channel whose entry Redis refused (out of memory, a key of the wrong type) is not
        sent: its producers' newest go again at the next round.
        """
        groups: dict[str, tuple[list[_Line], dict[str, int]]] = {}
        sent = self._sent_n
        taking: dict[int, list[int]] = {}  # serial -> [newest n, changes, changes skipped]
        for item in items:
            serial, n = item[6], item[3]
            took = taking.get(serial)
            last = took[0] if took is not None else sent.get(serial, 0)
            if n <= last:
                continue  # counted in the gap before the newer one that went
            gap = n - last - 1
            adopted = self._adopted.get(serial)
            if adopted is not None and n >= adopted:
                del self._adopted[serial]
                gap -= last < adopted < n  # its state at attach: a number, not an update
            went = self._group(groups, item)  # False: it cannot be JSON (counted, told)
            if took is None:
                taking[serial] = [n, went, gap]
            else:
                took[0], took[1], took[2] = n, took[1] + went, took[2] + gap
        for item in again or ():  # sent before; Redis may have lost it: not counted again
            self._group(groups, item)
        refused: set[str] = set()
        if groups:
            pipe = self._redis.pipeline(transaction=False)
            keys = self._keys
            described = self._described
            writes: list[tuple[str, bool]] = []  # per command: its channel, whether an XADD
            for channel, (lines, serials) in groups.items():
                meta = {pid: described.get(s, _UNKNOWN) for pid, s in serials.items()}
                stream = keys.stream(channel)
                for entry in self._encode(channel, meta, lines):
                    pipe.xadd(stream, {"m": entry}, maxlen=_STREAM_LEN, approximate=True)
                    writes.append((channel, True))
                if channel not in self._announced_channels:
                    pipe.sadd(keys.channels, channel)
                    writes.append((channel, False))
            failed = self._execute(pipe)
            refused = {writes[i][0] for i in failed if writes[i][1]}
            unlisted = {writes[i][0] for i in failed if not writes[i][1]}
            self._announced_channels.update(c for c in groups if c not in unlisted)
        skipped = taken = 0
        for serial, (n, count, gap) in taking.items():
            producer = self._linked.get(serial)
            if refused and producer is not None and producer.channel_name in refused:
                self._refused += count
                continue
            sent[serial] = n
            taken += count
            skipped += gap
        self.counts["sent"] += taken
        if refused:
            self._resync = True  # the newest of each goes again once Redis takes it
            self._resend_all = self._resend_all or bool(again)
        if skipped:
            self.counts["coalesced"] += skipped
            self._unreported += skipped
        self.report_skipped()

    def _group(self, groups: dict[str, tuple[list[_Line], dict[str, int]]], item: _Item) -> bool:
        """Add a change to its channel's entry, as its event line (if it can be JSON)."""
        channel, op, pid, n, timestamp, payload, serial = item
        if serial in self._unlinkable:
            self._cannot_cross(item)
            return False
        try:
            line = wire_change(
                op, channel, pid, n, timestamp, payload, self._described.get(serial, _UNKNOWN)
            )
        except ValueError as exc:  # a string with a lone surrogate, say
            self._unsendable(item, exc)
            return False
        group = groups.get(channel)
        if group is None:
            group = groups[channel] = ([], {})
        group[0].append((n, pid, line))
        group[1][pid] = serial
        return True

    def _line(self, item: _Item) -> bytes | None:
        """A change's event line; None (counted, told) when it cannot be JSON."""
        channel, op, pid, n, timestamp, payload, serial = item
        description = self._described.get(serial, _UNKNOWN)
        try:
            return wire_change(op, channel, pid, n, timestamp, payload, description)
        except ValueError as exc:
            self._unsendable(item, exc)
            return None

    def _cannot_cross(self, item: _Item) -> None:
        """A change of a producer whose id or channel cannot be JSON: counted, told once."""
        self.counts["dropped"] += 1
        serial = item[6]
        if serial in self._told_unlinkable:
            return
        self._told_unlinkable.add(serial)
        self._port.news(
            "link_dropped",
            f"producer {item[2]!r} on {item[0]!r} cannot cross the link: its id or channel "
            "is not valid UTF-8 (a lone surrogate); its updates stay in this process",
        )

    def _unsendable(self, item: _Item, exc: ValueError) -> None:
        self.counts["dropped"] += 1
        self._port.news(
            "link_dropped",
            f"update {item[3]} of {item[2]!r} on {item[0]!r} cannot be JSON "
            f"({str(exc)[:200]}): not sent",
        )

    def beat(self) -> None:
        """Once a heartbeat: list this process's channels again every 10 beats.

        The channels set is how a newcomer finds channels: one deleted or repaired after
        being clobbered is filled in again.
        """
        self._beats += 1
        if self._beats % 10 == 0:
            self._announced_channels.clear()

    def report_skipped(self) -> None:
        """Tell what was skipped or refused in ``link_dropped`` events, at most every second.

        A flood skips at every send: an event each time would flood the event log in turn.
        """
        if not (self._unreported or self._refused) or time.monotonic() < self._report_after:
            return
        self._report_after = time.monotonic() + 1.0
        if self._refused:
            refused, self._refused = self._refused, 0
            self._port.news(
                "link_dropped",
                f"Redis refused {refused} update(s) of link {self._name!r} ({self._refusal}): "
                "not sent; each producer's newest goes again once Redis takes writes",
            )
        if not self._unreported:
            return
        skipped, self._unreported = self._unreported, 0
        self._port.news(
            "link_dropped",
            f"link {self._name!r} skipped {skipped} update(s): Redis was away, or its queue "
            f"of {self.max_queue} filled up (publishes outran it, or Redis was slow); each "
            "producer's newest went out",
        )

    def _execute(self, pipe: Any) -> list[int]:
        """Run a pipeline; the indexes of the commands Redis refused (OOM, WRONGTYPE)."""
        failed = []
        for index, result in enumerate(pipe.execute(raise_on_error=False)):
            if isinstance(result, Exception):
                failed.append(index)
                self._refusal = str(result)[:200]
        if failed:
            logger.warning(
                "link %r: Redis refused %d write(s): %s", self._name, len(failed), self._refusal
            )
        return failed

    def _write_latest(self) -> None:
        """Bring each producer's ``latest`` hash field up to date (at most every 0.1 s)."""
        self._next_hash = time.monotonic() + min(0.1, self._heartbeat)
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
            channel, op, pid, n = item[0], item[1], item[2], item[3]
            field = keys.field(self._name, pid)
            if op == "close":
                pipe.hdel(keys.latest(channel), field)
            else:
                line = self._line(item)
                description = self._described.get(item[6], _UNKNOWN)
                encoded = (
                    []
                    if line is None
                    else self._encode(channel, {pid: description}, [(n, pid, line)])
                )
                if not encoded:
                    continue
                pipe.hset(keys.latest(channel), field, encoded[0])
            done.append((producer, item))
        if not done:
            return
        failed = set(self._execute(pipe))
        for index, (producer, item) in enumerate(done):
            if index in failed:
                continue  # the next round writes it again
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
        self._described.pop(producer.serial, None)
        self._unlinkable.discard(producer.serial)
        self._told_unlinkable.discard(producer.serial)
        self._adopted.pop(producer.serial, None)

    def _encode(
        self, channel: str, meta: dict[str, Description], lines: list[_Line]
    ) -> list[bytes]:
        """Entries for a channel's changes, each under the size limit (split in halves).

        Each half describes only its own producers: a channel of 10,000 producers (all of
        them re-sent after a reconnect) would otherwise carry all their descriptions in
        every half, never get under the limit, and be dropped line by line.
        """
        try:
            entry = encode_entry(
                self._name, self._incarnation, channel, meta, [x[2] for x in lines]
            )
        except ValueError as exc:  # a guard: every string in it was checked before
            self.counts["dropped"] += len(lines)
            self._port.news(
                "link_dropped",
                f"{len(lines)} update(s) on {channel!r} cannot be JSON ({str(exc)[:200]}): "
                "not sent",
            )
            return []
        if len(entry) <= MAX_ENTRY_BYTES:
            return [entry]
        if len(lines) == 1:
            self.counts["dropped"] += 1
            n, pid, _line = lines[0]
            self._port.news(
                "link_dropped",
                f"update {n} of {pid!r} on {channel!r} is {len(entry)} bytes as JSON, over "
                f"the link's {MAX_ENTRY_BYTES}-byte limit: not sent",
            )
            return []
        half = len(lines) // 2
        return [
            entry
            for part in (lines[:half], lines[half:])
            for entry in self._encode(channel, {pid: meta[pid] for _n, pid, _l in part}, part)
        ]

    def goodbye(self) -> None:
        """Tell the others this process's producers are gone (then ``Presence.leave``)."""
        now = time.time()
        reason = f"process {self._name!r} closed its link"
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
