"""Following: the reader thread, which applies here what the other processes sent.

It follows every channel's stream with one blocking ``XREAD``. A channel it has not seen
yet is joined first (``_join``): every live producer's newest (from the channel's ``latest``
hash), then the recent history, then what came since. Each entry is decoded and checked
(``_wire.decode_entry``: its events through ``event_from_json``), and each event becomes a
``StorePort`` event with the sender's ``process`` set; the store validates it with its own
model, numbers it and delivers it. Each producer's numbers drop re-sends and show gaps (a
``gap`` in the history and a ``link_dropped`` event). Anything malformed is dropped and
counted (``dropped``, and a ``link_dropped`` event), never raised.

An observer samples instead: per producer, only the newest publish of a read is applied,
the publishes it replaces counted (``detail={"folded": n}``).

Which thread writes what: everything here is the reader thread's, but ``forget_later``
(the writer thread, when presence reaps a process) and ``reset`` (``close()``, after the
threads stopped).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from mapstore_core._events import StoreEvent, update_event
from mapstore_core._port import StorePort
from mapstore_core._records import ChannelUpdate
from mapstore_core.link._connection import Backoff, Connection, Told
from mapstore_core.link._presence import redis_ms
from mapstore_core.link._registry import MAX_PROCESSES, announced_run, read_registry
from mapstore_core.link._wire import (
    Change,
    Description,
    Entry,
    Keys,
    changes,
    decode_entry,
    entry_header,
)

__all__ = ["Follower"]

logger = logging.getLogger("mapstore_core.link")

_READ_COUNT = 100  # entries per XREAD (each up to 500 changes)
_OBSERVER_READ_COUNT = 200  # per stream and read: a small batch is never a long GC pause
_OBSERVER_PAUSE = 0.05  # seconds between an observer's reads
_JOIN_PAGE = 10  # entries per XREVRANGE / XRANGE when catching up (each up to 512 KiB)
MAX_CHANNELS = 10_000  # channels a link follows
MAX_REMOTE_PRODUCERS = 100_000  # producers of other processes a link keeps
_LOOKS_PER_SCAN = 2_000  # listed channels checked for a stream per scan
_JOINS_PER_SCAN = 50  # channels joined per scan (each a few round trips)
_BAD_STREAM_RETRY = 5.0  # seconds before a key that was not a stream is looked at again
_REFUSED_RUNS = 1_000  # (process, run) pairs remembered as refused, for a second each
_new_tuple = tuple.__new__


def _published(channel: str, pid: str, value: Any, timestamp: float, process: str) -> StoreEvent:
    """A remote publish as the port takes it (once per update: no keyword constructor)."""
    return update_event(
        _new_tuple(ChannelUpdate, (channel, pid, "published", value, 0, timestamp, process))
    )


class _Sample:
    """What an observer keeps of a change while it folds a read: not the entry's others."""

    __slots__ = ("change", "channel", "description", "folded", "process")

    def __init__(self, entry: Entry, change: Change, folded: int) -> None:
        self.process = entry.process
        self.channel = entry.channel
        self.description = entry.meta[change.event.producer_id or ""]
        self.change = change
        self.folded = folded


class Follower:
    """The reader thread: join, XREAD, decode, apply through the port (see the module)."""

    def __init__(
        self,
        connection: Connection,
        port: StorePort,
        keys: Keys,
        *,
        name: str,
        own_prefix: bytes,
        heartbeat: float,
        observer: bool,
        stop: threading.Event,
        clock_offset: Callable[[], float],
        retire: Callable[[str, str], object],
    ) -> None:
        """Wire the reader to its link.

        ``clock_offset``: Redis's clock minus ours, in ms (presence measures it);
        ``retire(process, reason)``: close a process's producers here (it restarted).
        """
        self.name = name
        self._connection = connection
        self._redis = connection.client
        self._port = port
        self._keys = keys
        self._own_prefix = own_prefix  # our own entries start so: skipped undecoded
        self._heartbeat = heartbeat
        self._observer = observer
        self._stop = stop
        self._clock_offset = clock_offset
        self._retire = retire
        self.read_once = threading.Event()
        """Set once every channel was joined (``wait_ready``)."""
        self._gone: deque[str] = deque()  # the writer appends (a reaped process); we take
        # -- the reader thread's --
        # (process, channel, producer id) -> the last number applied of a remote producer
        # (to drop re-sends and see gaps)
        self._remote_n: dict[tuple[str, str, str], int] = {}
        self._incarnations: dict[str, str] = {}  # process -> the run we know of
        self._last_ids: dict[bytes, bytes] = {}  # stream key -> last entry id read
        self._stream_channels: dict[bytes, str] = {}  # stream key -> its channel
        self._bad_streams: dict[bytes, tuple[str, float]] = {}  # -> (channel, look again at)
        self._refused_runs: dict[tuple[str, str], float] = {}  # (process, run) -> until
        self._streamless: dict[bytes, float] = {}  # listed, no stream yet -> look again at
        self._told = Told()
        self._linked_ms: int | None = None  # Redis's clock when the reader first got through
        self.lag_ms = 0.0
        """How long the last entry read had waited in Redis (Redis's clock)."""
        self.counts = {"received": 0, "rejected": 0, "dropped": 0}
        self.skipped_history = 0
        """Updates of gone processes (or earlier runs) left out when joining a channel."""

    # -- other threads ---------------------------------------------------------------------

    def forget_later(self, process: str) -> None:
        """``process`` was reaped: before the next entry, forget its numbers and run.

        Its producers are closed here already: a later change of the same run registers it
        again (from the entry's descriptions), as for a process never seen.
        """
        self._gone.append(process)

    def reset(self) -> None:
        """The link closed (its threads stopped): forget every remote producer's numbers."""
        self._remote_n.clear()

    # -- the thread ------------------------------------------------------------------------

    def run(self) -> None:
        """The thread's body: follow every channel until ``stop`` is set."""
        backoff = Backoff(self._heartbeat / 2)
        next_scan = 0.0
        stop, errors = self._stop, self._connection.errors
        while not stop.is_set():
            try:
                if self._linked_ms is None:
                    self._linked_ms = redis_ms(self._redis)
                if time.monotonic() >= next_scan:
                    self._scan_channels()
                    self.read_once.set()
                    next_scan = time.monotonic() + min(0.25, self._heartbeat)
                if not self._last_ids:
                    stop.wait(min(0.1, self._heartbeat))
                    continue
                block = int(min(250, self._heartbeat * 1000))
                response = self._redis.xread(
                    dict(self._last_ids),
                    count=_OBSERVER_READ_COUNT if self._observer else _READ_COUNT,
                    block=block,
                )
                if self._observer:
                    self._sample(response or ())
                    stop.wait(_OBSERVER_PAUSE)  # a watcher samples: fewer, bigger reads
                    backoff.reset()
                    continue
                for stream, entries in response or ():
                    followed = self._stream_channels.get(stream)
                    if followed is None:
                        continue
                    for entry_id, fields in entries:
                        self._last_ids[stream] = entry_id
                        entry = self._decode(fields.get(b"m"), followed, None)
                        if entry is not None:
                            self._apply_entry(entry, entry_id)
                backoff.reset()
            except self._connection.response_error as exc:  # a key of the wrong type
                self._set_aside_bad_streams(exc)
                backoff.wait(stop)
            except errors:
                if stop.is_set():
                    return
                # Nothing to re-read: XREAD goes on from the last entry read, and after a
                # restart that lost the data every sender re-sends its newest values.
                backoff.wait(stop)
            except Exception:  # a bug must not kill the link silently: log, then go on
                logger.exception("link %r: reader failed", self.name)
                stop.wait(self._heartbeat)

    # -- joining channels ------------------------------------------------------------------

    def _scan_channels(self) -> None:
        """Follow channels other processes started streaming since the last scan.

        A key of the wrong type (the channels set, a channel's stream) is told once and
        looked at again later: once repaired, it is followed again. A few channels are
        joined per scan, only those whose stream exists (a sender lists a channel after
        its first entry; a listed name without one is looked at again every 5 s, a name
        never seen first), and at most ``MAX_CHANNELS``: a set stuffed with names delays
        newcomers a little, and never stalls what is followed already.
        """
        try:
            members = self._redis.smembers(self._keys.channels)
        except self._connection.response_error as exc:
            self._tell_once(
                "channels",
                f"the namespace's channels set is not a set ({exc}): no new channel "
                "is followed until it is repaired (the ones followed go on)",
                count=0,  # no update was lost: the channels followed go on
            )
            return
        now = time.monotonic()
        due = [channel.encode() for channel, at in self._bad_streams.values() if at <= now]
        candidates: dict[bytes, str] = {}
        for member in [*members, *due]:  # a repaired key is looked at even if unlisted
            try:
                channel = member.decode("utf-8") if isinstance(member, bytes) else str(member)
            except UnicodeDecodeError:
                self._tell_once(
                    "channel-name", "a member of the channels set is not UTF-8: skipped", count=0
                )
                continue
            stream = self._keys.stream(channel).encode()
            if stream in self._stream_channels or self._bad_streams.get(stream, ("", 0.0))[1] > now:
                continue
            candidates[stream] = channel
        if not candidates:
            return
        room = MAX_CHANNELS - len(self._stream_channels)
        if room <= 0:
            self._tell_once(
                "max-channels",
                f"the namespace lists more than {MAX_CHANNELS} channels; the others are not "
                "followed",
                count=0,
            )
            return
        # Never looked at first (a sender's new channel), then those due again.
        looked = self._streamless
        fresh = [stream for stream in candidates if stream not in looked]
        due_again = [stream for stream in candidates if looked.get(stream, now) < now]
        streams = (fresh + due_again)[:_LOOKS_PER_SCAN]
        pipe = self._redis.pipeline(transaction=False)
        for stream in streams:
            pipe.exists(stream)
        found = []
        if len(looked) > 10 * MAX_CHANNELS:
            looked.clear()
        for stream, there in zip(streams, pipe.execute(), strict=True):
            if there:
                found.append(stream)
                looked.pop(stream, None)
            else:
                looked[stream] = now + _BAD_STREAM_RETRY
        for stream in found[: min(room, _JOINS_PER_SCAN)]:
            self._join_one(candidates[stream], stream, now)

    def _join_one(self, channel: str, stream: bytes, now: float) -> None:
        try:
            self._join(channel, stream)
        except self._connection.response_error as exc:
            self._bad_streams[stream] = (channel, now + _BAD_STREAM_RETRY)
            self._tell_once(
                f"bad:{channel}",
                f"channel {channel!r} is not followed for now: its keys in "
                f"Redis are of the wrong type ({exc}); looked at again every "
                f"{_BAD_STREAM_RETRY:g} s",
                count=0,
            )
        else:
            self._bad_streams.pop(stream, None)

    def _set_aside_bad_streams(self, exc: Exception) -> None:
        """A read was refused: set aside the followed keys that are no stream, keep the rest.

        Every other channel goes on from where it was (nothing is read twice); a key set
        aside is joined again once it is a stream (or gone) again.
        """
        streams = list(self._last_ids)
        pipe = self._redis.pipeline(transaction=False)
        for stream in streams:
            pipe.type(stream)
        kinds = pipe.execute()
        retry = time.monotonic() + _BAD_STREAM_RETRY
        for stream, kind in zip(streams, kinds, strict=True):
            if kind not in (b"stream", b"none", "stream", "none"):
                channel = self._stream_channels.pop(stream, "?")
                del self._last_ids[stream]
                self._bad_streams[stream] = (channel, retry)
                self._tell_once(
                    f"bad:{channel}",
                    f"channel {channel!r} is not followed for now: its stream "
                    f"key holds a {kind!r} ({exc}); looked at again every {_BAD_STREAM_RETRY:g} s",
                    count=0,
                )

    def _tell_once(self, key: str, message: str, *, count: int = 1, every: float = 60.0) -> None:
        """Count and tell something refused, at most once per ``every`` seconds per ``key``."""
        self.counts["dropped"] += count
        if self._told.due(key, every):
            logger.warning("link %r: %s", self.name, message)
            self._port.news("link_dropped", message)

    def _join(self, channel: str, stream: bytes) -> None:
        """Catch up on a channel: every producer's newest value, then the recent history.

        Order matters for ``get()`` (the newest applied wins): first the newest values of
        producers that are quiet (not in the window read), then the window in stream order:
        the last ``history_size`` changes before this link started (bounded by changes, not
        entries: one entry can carry thousands) and every entry written since.
        """
        history = self._port.history_size
        live = self._live_processes()
        skipped_before = self.skipped_history
        # Read before the stream: a writer updates the hash only after the stream, so every
        # value in it is also in the stream unless its producer has been quiet for long.
        latest = dict(self._redis.hscan_iter(self._keys.latest(channel), count=100))
        # Everything since this link started is news; history is what came before. Anything
        # written after these reads comes through XREAD, which goes on from `last_id`.
        since = self._read_since(stream)
        last_id = since[-1][0] if since else b"0-0"
        backlog: list[tuple[Entry, list[Change]]] = []
        budget = history
        upper = f"({self._linked_ms}-0"
        entries_read = 0
        while True:  # newest first, a few entries at a time: one entry can be 5,000 changes
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
                    read = self._changes(entry)
                    keep = min(budget, len(read))
                    backlog.append((entry, read[len(read) - keep :]))
                    budget -= keep
            if budget <= 0 or len(page) < _JOIN_PAGE or entries_read >= max(history, 1):
                break
            upper = "(" + page[-1][0].decode()
        # Who is alive is read again after the entries: a process announces itself before
        # it writes, so the sender of everything read is known now. Without this, a process
        # that linked during these reads would be taken for a gone one and the first changes
        # it sent skipped for good (they are behind `last_id`). Its entries are all newer
        # than the first read of the processes, hence in `since` or `latest`, never history.
        live.update(self._live_processes())
        window = [*reversed(backlog)]
        for _entry_id, fields in since:
            entry = self._decode(fields.get(b"m"), channel, live)
            if entry is not None:
                window.append((entry, self._changes(entry)))
        seen = {(entry.process, c.event.producer_id) for entry, read in window for c in read}
        for raw in latest.values():
            entry = self._decode(raw, channel, live)
            if entry is not None:
                read = self._changes(entry)
                quiet = [c for c in read if (entry.process, c.event.producer_id) not in seen]
                if quiet:
                    self._apply_entry(entry, None, quiet)
        for entry, read in window:
            self._apply_entry(entry, None, read)
        self._stream_channels[stream] = channel
        self._last_ids[stream] = last_id
        skipped = self.skipped_history - skipped_before
        if skipped:
            self._port.news(
                "link_dropped",
                f"joining channel {channel!r} left out {skipped} earlier update(s) of "
                "processes that are gone or restarted since (their history, not news)",
            )

    def _read_since(self, stream: bytes) -> list[Any]:
        """The stream's entries since this link started, read a page at a time.

        Bounded replies: one entry can be 512 KiB, and a stream 100,000 entries.
        """
        entries: list[Any] = []
        lower = f"{self._linked_ms}-0"
        while True:
            page = self._redis.xrange(stream, min=lower, max="+", count=_JOIN_PAGE)
            entries += page
            if len(page) < _JOIN_PAGE:
                return entries
            lower = "(" + page[-1][0].decode()

    def _live_processes(self) -> dict[str, str | None]:
        """Processes whose heartbeat is current, with the run (incarnation) they announced."""
        now_ms = redis_ms(self._redis)
        try:
            procs = self._redis.zrange(self._keys.procs, 0, -1, withscores=True)
        except self._connection.response_error:
            procs = []  # the registry key is of another type (presence tells it): nobody
        registry = read_registry(procs, now_ms)
        names = [name for name, deadline in registry.deadlines.items() if deadline >= now_ms]
        pipe = self._redis.pipeline(transaction=False)
        for name in names:
            pipe.getrange(self._keys.proc(name), 0, 1023)
        heads = pipe.execute(raise_on_error=False) if names else []
        return {name: announced_run(head) for name, head in zip(names, heads, strict=True)}

    # -- decoding --------------------------------------------------------------------------

    def _decode(self, raw: Any, channel: str, live: dict[str, str | None] | None) -> Entry | None:
        """Decode one entry, or None to skip it; a bad one is counted and dropped, never raised.

        Only entries of a run a process announced are kept (``_accepts``); with ``live``
        (catching up), only those of processes alive now: a gone process's history is not
        resurrected, nor an earlier run's (skipped, and counted in ``skipped_history``).
        An event of the entry that is not a fit is dropped alone, and counted.
        """
        if isinstance(raw, bytes) and raw.startswith(self._own_prefix):
            return None  # our own batch: not even decoded
        if self._gone:
            self._forget_gone()
        refused: list[str] = []

        def wanted(process: str, incarnation: str) -> bool:
            if process == self.name:
                return False  # an earlier run of this name (ours are skipped above)
            if live is None:
                accepted = self._accepts(process, incarnation)
            else:
                accepted = live.get(process) == incarnation and self._adopt_run(
                    process, incarnation
                )
            if not accepted:
                refused.append(process)
            return accepted

        if live is not None and isinstance(raw, bytes):
            header = entry_header(raw)  # skip a gone process's batches without parsing them
            if header is not None and not wanted(*header):
                self.skipped_history += raw.count(b"\n")
                return None
        try:
            entry = decode_entry(raw, channel=channel, accept=wanted)
        except (ValueError, TypeError) as exc:
            updates = max(1, raw.count(b"\n")) if isinstance(raw, bytes) else 1
            self._dropped(
                f"dropped a malformed entry ({updates} update(s)) on channel {channel!r}: {exc}",
                updates,
            )
            return None
        if entry is None and refused and isinstance(raw, bytes):
            if live is None:
                self.counts["dropped"] += raw.count(b"\n")  # one line per update
            else:
                self.skipped_history += raw.count(b"\n")
        return entry

    def _accepts(self, process: str, incarnation: str) -> bool:
        """Whether an entry read live comes from the run ``process`` announced.

        The announcement (``proc:NAME``) is what a process writes before any entry; an
        entry naming another run is another process under the same name, or forged: its
        updates are dropped and counted, and the process's producers here are left alone.
        A run that is the announced one, after another, is a restart.
        """
        known = self._incarnations.get(process)
        if known == incarnation:
            return True
        now = time.monotonic()
        run = (process, incarnation)
        if self._refused_runs.get(run, 0.0) <= now:  # each claimed run looked up once a second
            if self._announced_run(process) == incarnation:
                return self._adopt_run(process, incarnation)
            if len(self._refused_runs) >= _REFUSED_RUNS:
                self._refused_runs.clear()
            self._refused_runs[run] = now + 1.0
        self._tell_once(
            f"run:{process}",
            f"dropped updates that claim to come from process {process!r} in a run "
            f"({incarnation[:16]!r}) its announcement does not name: two processes share "
            "the name, or the entries are forged",
            count=0,  # _decode counts the entry's updates
        )
        return False

    def _adopt_run(self, process: str, incarnation: str) -> bool:
        """Take ``incarnation`` as ``process``'s current run (a restart if another was)."""
        known = self._incarnations.get(process)
        if known == incarnation:
            return True
        if known is None and len(self._incarnations) >= MAX_PROCESSES:
            self._tell_once(
                "too-many",
                f"more than {MAX_PROCESSES} processes send to this namespace: "
                f"updates of {process!r} dropped",
                count=0,  # _decode counts the entry's updates
            )
            return False
        if known is not None:
            self._retire(process, f"process {process!r} restarted")
            self._forget_numbers(process)
        self._incarnations[process] = incarnation
        return True

    def _announced_run(self, process: str) -> str | None:
        """The run ``process``'s announcement in Redis names (None: no valid one)."""
        return announced_run(self._redis.getrange(self._keys.proc(process), 0, 1023))

    def _forget_gone(self) -> None:
        """Forget reaped processes: numbers and run (a later run starts afresh)."""
        while self._gone:
            gone = self._gone.popleft()
            self._forget_numbers(gone)
            self._incarnations.pop(gone, None)

    def _forget_numbers(self, process: str) -> None:
        for key in [known for known in self._remote_n if known[0] == process]:
            del self._remote_n[key]

    def _changes(self, entry: Entry) -> list[Change]:
        """All of an entry's events at once (catching up: a window is read whole)."""
        refused: list[str] = []
        read = list(changes(entry, refused))
        self._refused(entry, refused)
        return read

    def _refused(self, entry: Entry, refused: list[str]) -> None:
        if refused:
            self._dropped(
                f"dropped {len(refused)} malformed event(s) of process {entry.process!r} on "
                f"channel {entry.channel!r}: {refused[0]}",
                len(refused),
            )

    def _dropped(self, message: str, count: int = 1) -> None:
        self.counts["dropped"] += count
        logger.warning("link %r: %s", self.name, message)
        self._port.news("link_dropped", message)

    # -- applying --------------------------------------------------------------------------

    def _apply_entry(
        self, entry: Entry, entry_id: bytes | None, read: list[Change] | None = None
    ) -> None:
        """Apply an entry's events through the store's validation and delivery.

        Live (``read`` None), each event is decoded, applied and let go before the next.
        """
        if entry_id is not None:  # a live read: how long it waited in Redis
            self._note_lag(entry_id)
        process, channel, meta = entry.process, entry.channel, entry.meta
        refused: list[str] = []
        for change in changes(entry, refused) if read is None else read:
            self._apply(process, channel, meta[change.event.producer_id or ""], change, 0)
        self._refused(entry, refused)

    def _apply(
        self, process: str, channel: str, description: Description, change: Change, folded: int
    ) -> None:
        """Apply one remote change through the port, dropping re-sends and telling gaps.

        Each producer numbers its changes: one at or below the last applied is a re-send;
        a jump means the sender skipped updates under pressure (a ``gap`` in the history and
        a ``link_dropped`` event, both from the store). ``folded``: publishes just before
        this one that an observer skipped on purpose (counted as publishes, not as a gap).
        """
        n, event = change
        kind, pid, timestamp = event.kind, event.producer_id or "", event.timestamp
        key = (process, channel, pid)
        port = self._port
        last = self._remote_n.get(key)
        if last is None:
            if kind == "closed":
                return  # a producer closed before we ever saw it
            if len(self._remote_n) >= MAX_REMOTE_PRODUCERS:
                self._tell_once(
                    "max-producers",
                    f"more than {MAX_REMOTE_PRODUCERS} producers of other processes: "
                    f"{pid!r} of {process!r} and other new ones are not followed",
                )
                return
            registered = event if kind == "registered" else None
            port.apply(_registration(process, channel, pid, timestamp, description, registered))
            last = n - 1
        if n == last:
            return  # a re-send: a sender only ever re-sends a producer's newest
        if n < last:
            # A run's numbers only go up (a re-send repeats the newest): the higher one
            # was not this run's (an entry forged with its public run id). Follow this one
            # rather than drop every later update as a re-send.
            self._tell_once(
                f"rewind:{process}",
                f"the numbers of {pid!r} in process {process!r} went back from {last} to {n}: "
                "an earlier update claiming to be its was not; following the run's own",
                count=0,
            )
        self._remote_n[key] = n
        skipped = n - last - 1 - folded
        if skipped > 0:
            port.apply(
                StoreEvent(
                    "link_dropped",
                    channel,
                    pid,
                    timestamp,
                    process=process,
                    message=f"{skipped} update(s) of {pid!r} in process {process!r} were "
                    "skipped on the way (the link coalesced under pressure); the newest follows",
                    update=ChannelUpdate(
                        channel, pid, "gap", {"skipped": skipped}, 0, timestamp, process
                    ),
                )
            )
        if kind == "published":
            value = None if event.update is None else event.update.value
            remote = _published(channel, pid, value, timestamp, process)
            if folded:
                remote = remote._replace(detail={"folded": folded})
            outcome = port.apply(remote)
        elif kind == "cleared":
            outcome = port.apply(StoreEvent("cleared", channel, pid, timestamp, process=process))
        elif kind == "closed":
            outcome = port.apply(
                StoreEvent(
                    "closed", channel, pid, timestamp, process=process, message=event.message
                )
            )
            del self._remote_n[key]
        else:
            outcome = "applied"  # the registration: applied above, or seen again
        if outcome == "applied":
            self.counts["received"] += 1 + folded
        elif outcome == "rejected":
            self.counts["rejected"] += 1

    def _sample(self, response: Any) -> None:
        """An observer's read: per producer, only its newest publish of the read is applied.

        The publishes it replaces are counted (``publish_count``, rates) but not validated,
        stored in the history or delivered: a panel watching a fleet of 50,000 updates a
        second shows each producer's newest value and rate, and keeps up.
        """
        pending: dict[tuple[str, str, str], _Sample] = {}
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
                self._note_lag(entry_id)
                refused: list[str] = []
                for change in changes(entry, refused):
                    key = (entry.process, entry.channel, change.event.producer_id or "")
                    before = pending.pop(key, None)
                    folded = 0
                    if before is not None:
                        if before.change.event.kind == "published" == change.event.kind:
                            folded = before.folded + 1
                        else:
                            self._apply_sample(before)
                    # the change alone, not its entry: a folded batch is let go as it is read
                    pending[key] = _Sample(entry, change, folded)
                self._refused(entry, refused)
        for index, sample in enumerate(pending.values()):
            if index % 64 == 63:
                time.sleep(0)
            self._apply_sample(sample)

    def _apply_sample(self, sample: _Sample) -> None:
        self._apply(
            sample.process, sample.channel, sample.description, sample.change, sample.folded
        )

    def _note_lag(self, entry_id: bytes) -> None:
        try:
            entry_ms = int(entry_id.split(b"-", 1)[0])
        except ValueError:
            return
        self.lag_ms = max(0.0, time.time() * 1000 + self._clock_offset() - entry_ms)


def _registration(
    process: str,
    channel: str,
    pid: str,
    timestamp: float,
    description: Description,
    event: StoreEvent | None,
) -> StoreEvent:
    """The ``registered`` port event: from the registration sent, else the description.

    Only what the store needs crosses (kind, validated, widget, where): nothing else a
    sender put in the event's detail reaches this store's listeners.
    """
    kind, where, validated = description
    widget = None
    if event is not None:
        detail = event.detail or {}
        kind, where = detail["kind"], event.where or where
        validated = detail.get("validated") is True
        widget = detail.get("widget") if isinstance(detail.get("widget"), str) else None
    return StoreEvent(
        "registered",
        channel,
        pid,
        timestamp,
        process=process,
        where=where,
        detail={"kind": kind, "validated": validated, "widget": widget},
    )


def _id_key(entry_id: bytes) -> tuple[int, int]:
    """A stream entry id (``b"1795770000123-4"``) as numbers, for ordering."""
    ms, _, seq = entry_id.partition(b"-")
    return (int(ms), int(seq or 0))
