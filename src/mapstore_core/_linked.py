"""The store's linked half: what ``StorePort`` does to a store, kept out of the store proper.

``MapObjectStore`` inherits it. A link hands local changes over through the sink it attached,
and applies what other processes sent: each change is checked against this store's model,
numbered on this store's clock, booked by the same ``_state`` code as a local change (a
registration and a gap through ``_fold.fold`` itself), told as an event and delivered. Here too
live the fleet the link last read and a producer's newest state for a coalescing link.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError

from mapstore_core._errors import LinkError
from mapstore_core._events import EventKind, StoreEvent, tell
from mapstore_core._fold import fold
from mapstore_core._jsonable import jsonable
from mapstore_core._listeners import Listeners
from mapstore_core._port import Applied, LinkSink, Newest
from mapstore_core._records import ChannelUpdate, Diagnostic, ProcessInfo
from mapstore_core._state import ChannelState, ProducerState, StoreState
from mapstore_core._watch import DoctorWatch

if TYPE_CHECKING:
    from mapstore_core._errors import PublishValidationError

__all__ = ["LinkedSide"]

EventListener = Callable[[StoreEvent], object]
_new_tuple = tuple.__new__  # a remote publish is built once per update: no keyword constructor
_SLICE = 0.002  # seconds of a bulk job (a reap) between two pauses
_PAUSE = 0.0001  # a pause: time enough for a thread waiting for the GIL to take it


class _Pacer:
    """Paces a bulk job so that publishers on other threads keep going (a reap's closes).

    A thread that wants the GIL while another runs Python code waits CPython's switch
    interval (5 ms) before it may take it: a publish caught so would take 5 ms or more. So the
    job sleeps ``_PAUSE`` after each ``_SLICE`` of work, holding no lock: a publisher waiting
    for the GIL or a channel's lock waits at most a slice.
    """

    __slots__ = ("_until",)

    def __init__(self) -> None:
        self._until = time.perf_counter() + _SLICE

    def due(self) -> bool:
        """Whether the slice is used up (call ``pause`` once every lock is released)."""
        return time.perf_counter() >= self._until

    def pause(self) -> None:
        """Let the other threads run, then start the next slice."""
        time.sleep(_PAUSE)
        self._until = time.perf_counter() + _SLICE


class LinkedSide:
    """The methods behind ``StorePort`` (see the module docstring)."""

    _state: StoreState
    _clock: Callable[[], float]
    _link_sink: LinkSink | None
    _tape: Callable[[Any], object] | None
    _link: Any
    _listeners: Listeners
    _watch: DoctorWatch

    if TYPE_CHECKING:  # the store proper provides these

        def _emit(
            self, kind: EventKind, channel: str | None, producer_id: str | None, **fields: Any
        ) -> None: ...

        def _rejected(
            self, producer: ProducerState, exc: ValidationError
        ) -> PublishValidationError: ...

        def _deliver(self, channel: ChannelState, update: ChannelUpdate) -> None: ...

        def _clear_locked(self, producer: ProducerState) -> ChannelUpdate | None: ...

        def _close_producer(self, producer: ProducerState, reason: str | None = None) -> None: ...

        def _close_locked(self, producer: ProducerState, reason: str | None) -> bool: ...

        def _notice(self) -> None: ...

    def _attach_sink(self, sink: LinkSink) -> list[tuple[Any, int]]:
        before: dict[ProducerState, int] = {}
        for state in self._state.existing():
            with state.lock:
                for producer in state.producers.values():
                    before[producer] = producer.link_n
        with self._state.lock:
            if self._link_sink is not None:
                raise LinkError("this store is already linked; close its link first")
            self._link_sink = sink
        current: list[tuple[Any, int]] = []
        for state in self._state.existing():
            with state.lock:
                current += [(p, before.get(p, 0)) for p in state.producers.values()]
        return current

    def _detach_sink(self, sink: LinkSink, reason: str) -> None:
        with self._state.lock:
            if self._link_sink is not sink:
                return
            self._link_sink = None
        self._close_remote(None, reason)
        self._set_fleet(False, [], [])
        self._link = None

    def _close_remote(self, process: str | None, reason: str) -> int:
        """Close the remote producers of ``process`` (every process's: None); how many.

        One pass per channel: its producers of ``process`` are picked once, then closed a
        slice at a time under its lock, paced (``_Pacer``): a reap of thousands of producers
        holds no lock long, and never two channels' at once.
        """
        self._notice()
        pacer = _Pacer()
        closed = 0
        for state in self._state.existing():
            with state.lock:
                doomed = [p for p in state.remote.values() if process in (None, p.process)]
            done = 0
            while done < len(doomed):
                if pacer.due():
                    pacer.pause()
                with state.lock:
                    for producer in doomed[done:]:
                        if self._close_locked(producer, reason):
                            closed += 1
                        done += 1
                        if pacer.due():
                            break
        return closed

    def _remote_values(self, process: str) -> list[tuple[str, str, Any]]:
        pacer = _Pacer()
        found: list[tuple[str, str, Any]] = []
        for state in self._state.existing():
            with state.lock:  # each channel read once
                held = [
                    (p.id, p.value)
                    for p in state.remote.values()
                    if p.process == process and p.has_value
                ]
            for producer_id, value in held:
                if pacer.due():
                    pacer.pause()
                found.append((state.name, producer_id, jsonable(value)))
        return found

    def _remote_processes(self) -> set[str]:
        found: set[str] = set()
        for state in self._state.existing():
            with state.lock:
                found.update(p.process for p in state.remote.values() if p.process)
        return found

    def _apply_remote(self, event: StoreEvent) -> Applied:
        """Apply a change of a linked process's producer (see ``StorePort.apply``)."""
        process, name, producer_id = event.process, event.channel, event.producer_id
        if process is None or name is None or producer_id is None:
            return "unknown"
        state = self._state.channel(name)
        kind = event.kind
        with state.lock:
            producer = state.find(producer_id, process)
            if kind == "registered":
                if producer is not None:
                    return "unknown"
                detail = {**(event.detail or {}), "order": None}  # the sender's is not ours
                local = event._replace(
                    seq=self._state.next_seq(), timestamp=self._clock(), detail=detail
                )
                fold(self._state, local)
                detail["order"] = state.first_producer_order
                self._tell_event(local)
                return "applied"
            if producer is None:
                return "unknown"
            if kind == "published":
                return self._remote_publish(producer, event)
            if kind == "cleared":
                self._clear_locked(producer)
                return "applied"
            if kind == "link_dropped" and event.update is not None:
                seq = self._state.next_seq()
                gap = event.update._replace(
                    channel=name, producer_id=producer_id, seq=seq, timestamp=self._clock()
                )
                local = event._replace(seq=seq, timestamp=gap.timestamp, update=gap)
                fold(self._state, local)
                self._tell_event(local)
                return "applied"
        if kind == "closed":
            self._close_producer(producer, event.message)
            return "applied"
        return "unknown"

    def _remote_publish(self, producer: ProducerState, event: StoreEvent) -> Applied:
        channel = producer.channel  # its lock held
        payload = None if event.update is None else event.update.value
        model = channel.model
        if model is not None:
            try:
                payload = model.__pydantic_validator__.validate_python(payload)
            except ValidationError as exc:
                self._rejected(producer, exc)
                return "rejected"
        seq = self._state.next_seq()
        now = self._clock()
        update: ChannelUpdate = _new_tuple(
            ChannelUpdate,
            (channel.name, producer.id, "published", payload, seq, now, producer.process),
        )
        folded = (event.detail or {}).get("folded")
        # The same bookkeeping as a local publish (and as a mirror's fold of this event);
        # deliveries are counted as they are made.
        channel.publish(producer, update, payload, seq, now)
        if type(folded) is int and folded > 0:
            channel.folded(producer, folded)
        listeners = self._listeners.by_kind["published"]
        tape = self._tape
        if listeners or tape is not None:
            # as event._replace(timestamp=now, seq=seq, update=update), a third the cost
            applied = _new_tuple(StoreEvent, (*event[:3], now, seq, update, *event[6:]))
            if listeners:
                tell(listeners, applied)
            if tape is not None:
                tape(applied)
        if channel.targets:
            self._deliver(channel, update)
        return "applied"

    def _tell_event(self, event: StoreEvent) -> None:
        self._listeners.tell(event)

    def _link_news(self, kind: Literal["link_status", "link_dropped"], message: str) -> None:
        self._emit(kind, None, None, seq=self._state.last_seq, message=message)

    def _set_fleet(
        self, linked: bool, processes: list[ProcessInfo], findings: list[Diagnostic]
    ) -> None:
        state = self._state
        # Not a new generation: that changes the store's shape (StorePort.shape), and the
        # link would announce this process again at every heartbeat.
        with state.lock:
            state.linked = linked
            state.fleet_processes = list(processes)
            state.fleet_findings = list(findings)
        seq = state.next_seq()
        # Built only for a listener (a mirror, a panel): at every heartbeat, and a gone process
        # holds its producers' stale values for minutes (10,000 of them: 50 ms of dumping).
        if self._listeners.by_kind["fleet"]:
            self._emit(
                "fleet",
                None,
                None,
                seq=seq,
                detail={
                    "linked": linked,
                    "processes": [p.to_dict() for p in processes],
                    "findings": [d.to_dict() for d in findings],
                },
            )
        self._watch.fleet(findings)

    def _newest(self, producer: ProducerState) -> Newest | None:
        lock = producer.channel.lock
        if not lock.acquire(blocking=False):
            return None
        try:
            n = producer.link_n
            if producer.closed:
                op, payload = "close", None
            elif producer.has_value:
                op, payload = "pub", producer.value
            else:
                op, payload = ("clr" if producer.publish_count else "reg"), None
            return (op, payload, n, producer.last_publish or time.time())
        finally:
            lock.release()

    def _adopt(self, producer: ProducerState, before: int) -> bool:
        with producer.channel.lock:
            if producer.closed:
                return False
            if producer.link_n == before:
                producer.link_n += 1
            return True

    def _renumber(self, producer: ProducerState) -> int | None:
        with producer.channel.lock:
            if producer.closed:
                return None
            producer.link_n += 1
            return producer.link_n

    def _shape(self) -> int:
        consumers = sum(len(s.consumers) for s in self._state.existing())
        return self._state.generation * 1_000_003 + consumers
