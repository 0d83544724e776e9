"""``MapObjectStore``: named channels, the producers that publish on them, their consumers.

Locking: a store lock guards the channel table and churn bookkeeping; each channel has a
reentrant lock that guards its producers, consumers, counters and history and is held while
an update is delivered (that is what keeps per-channel order). The store lock is never held
while a channel lock is taken, so a callback may register or publish without deadlocking.
"""

from __future__ import annotations

import itertools
import logging
import os
import sys
import threading
import time
import traceback
import weakref
from collections import deque
from collections.abc import Callable, Iterable
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar, get_args

from pydantic import BaseModel, ValidationError

from mapstore_core import _callsite, _doctor
from mapstore_core._errors import (
    ChannelNotDefined,
    ChannelSchemaConflict,
    ConsumerClosed,
    LinkError,
    ProducerAlreadyRegistered,
    ProducerClosed,
    PublishValidationError,
)
from mapstore_core._fields import field_problems
from mapstore_core._handles import Consumer, Producer, WidgetConsumer
from mapstore_core._jsonable import jsonable
from mapstore_core._logtext import format_log_producers
from mapstore_core._names import channel_name, check_id
from mapstore_core._records import (
    ChannelInfo,
    ChannelUpdate,
    ConsumerInfo,
    Diagnostic,
    EventKind,
    ProducerInfo,
    ProducerKind,
    StoreEvent,
)
from mapstore_core._schemas import WIDGET_MODELS
from mapstore_core._state import Callback, ChannelState, ConsumerState, ProducerState

if TYPE_CHECKING:
    from mapstore_core.remote import DebugServer, ProcessInfo, StoreLink

# What a store hands its link for every change of a local producer: (producer, operation
# "reg" | "pub" | "clr" | "close", payload, timestamp). Called under the channel's lock, so
# the link sees each producer's changes in order; it must only queue, never block.
LinkSink = Callable[[ProducerState, str, Any, float], None]

__all__ = ["MapObjectStore"]

logger = logging.getLogger("mapstore_core")

M = TypeVar("M", bound=BaseModel)
P = TypeVar("P", bound=Producer)
EventListener = Callable[[StoreEvent], object]

# Building the publish path's named tuples with tuple.__new__ skips NamedTuple's Python-level
# __new__, which costs twice as much.
_new_tuple = tuple.__new__

SNAPSHOT_VERSION = 1
EVENT_KINDS: frozenset[str] = frozenset(get_args(EventKind))


class MapObjectStore:
    """An in-process map object store: channel → producer id → latest payload.

    Producers register close to their data source and publish; consumers read the newest
    value or subscribe. The store also describes itself (``log_producers``, ``snapshot``,
    ``subscribe_events``, ``diagnostics``) so a debug panel can show who publishes what.
    The three widget channels are defined in every store.

    Args:
        history_size: How many past updates each channel keeps (0 keeps none).
        clock: Source of timestamps, seconds since the epoch; inject one in tests.
        churn_threshold: Registrations from one call site within ``churn_window`` seconds
            that the doctor reports as ``registration-churn``.
        churn_window: See ``churn_threshold``.
    """

    def __init__(
        self,
        history_size: int = 100,
        *,
        clock: Callable[[], float] = time.time,
        churn_threshold: int = 10,
        churn_window: float = 1.0,
    ) -> None:
        if history_size < 0:
            raise ValueError(f"history_size must be >= 0, not {history_size}")
        if churn_threshold < 2:
            raise ValueError(f"churn_threshold must be >= 2, not {churn_threshold}")
        self._history_size = history_size
        self._clock = clock
        self._lock = threading.RLock()
        self._channels: dict[str, ChannelState] = {}
        self._seq = itertools.count(1)
        self._last_seq = 0
        self._producer_order = itertools.count()
        # (listener, kinds or None for all) in subscription order, and per kind the listeners
        # that want it: the publish path reads one tuple and builds no event if it is empty.
        self._subscriptions: list[tuple[EventListener, frozenset[str] | None]] = []
        self._by_kind: dict[str, tuple[EventListener, ...]] = dict.fromkeys(EVENT_KINDS, ())
        self._published_listeners: tuple[EventListener, ...] = ()
        self._cleared_listeners: tuple[EventListener, ...] = ()
        self._churn_threshold = churn_threshold
        self._churn_window = churn_window
        self._site_registrations: dict[str, deque[float]] = {}
        self._churn: dict[str, _doctor.ChurnFact] = {}
        self._diag_lock = threading.RLock()
        # channel -> producer id -> keys of the findings last reported (to emit only new ones)
        self._known_diagnostics: dict[str, dict[str, set[tuple[str, str, str]]]] = {}
        self._leaks_pending = False
        self._link_sink: LinkSink | None = None
        # Bumped whenever a fact the doctor reads changes; diagnostics() reuses its last
        # result while it stays the same (the panel asks often, the store rarely changes).
        self._diag_generation = 0
        self._diag_cache: tuple[int, list[Diagnostic]] | None = None
        self._link: StoreLink | None = None

        for channel, model in WIDGET_MODELS.items():
            self.define_channel(channel, model)

    # -- channels --------------------------------------------------------------------------

    def _channel(self, name: str) -> ChannelState:
        state = self._channels.get(name)
        if state is not None:
            return state
        with self._lock:
            state = self._channels.get(name)
            if state is None:
                state = self._channels[name] = ChannelState(name, self._history_size)
            return state

    def _existing_channels(self) -> list[ChannelState]:
        with self._lock:
            return list(self._channels.values())

    def define_channel(self, channel: str | Enum, model: type[BaseModel]) -> str:
        """Give a channel a pydantic model, so validated publishers and consumers can use it.

        Defining the same model again is a no-op. Returns the channel name.

        Raises:
            TypeError: ``model`` is not a pydantic model class.
            ChannelSchemaConflict: the channel already has a different model.
        """
        name = channel_name(channel)
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise TypeError(f"define_channel({name!r}, ...) needs a pydantic model class")
        state = self._channel(name)
        with state.lock:
            if state.model is model:
                return name
            if state.model is not None:
                raise ChannelSchemaConflict(name, state.model.__name__, model.__name__)
            state.model = model
            self._diag_generation += 1
        self._emit("channel_defined", name, None, message=f"schema {model.__name__}")
        self._refresh_diagnostics(state)
        return name

    def schema(self, channel: str | Enum) -> type[BaseModel] | None:
        """The channel's model, or None for a raw channel (or one never seen)."""
        state = self._channels.get(channel_name(channel))
        return None if state is None else state.model

    def _require_model(self, name: str) -> ChannelState:
        state = self._channels.get(name)
        if state is None or state.model is None:
            known = [s.name for s in self._existing_channels() if s.model is not None]
            raise ChannelNotDefined(name, known)
        return state

    # -- producers -------------------------------------------------------------------------

    def register_producer(self, channel: str | Enum, producer_id: str) -> Producer:
        """Register a raw producer: the legacy path, payloads are stored as given.

        Prefer ``create_widget_publisher`` on channels that have a model; the doctor reports
        raw publishing there as ``unvalidated-publish``.

        Raises:
            ProducerAlreadyRegistered: ``producer_id`` is open on ``channel``.
        """
        return self._register_producer(
            channel_name(channel), producer_id, kind="producer", validated=False, cls=Producer
        )

    def _register_producer(
        self,
        name: str,
        producer_id: str,
        *,
        kind: ProducerKind,
        validated: bool,
        cls: type[P],
    ) -> P:
        check_id("producer", producer_id)
        where = _callsite.caller_location()
        widget = _callsite.registering_widget()
        state = self._require_model(name) if validated else self._channel(name)
        producer = ProducerState(
            state, producer_id, kind, where, validated=validated, widget=widget
        )
        with state.lock:
            first = state.producers.get(producer_id)
            if first is not None:
                raise ProducerAlreadyRegistered(name, producer_id, first.registered_at)
            state.producers[producer_id] = producer
            if kind == "producer":  # each bridge is its own job: bridges never duplicate
                state.sites.setdefault(where, {})[producer] = None
            self._diag_generation += 1
            if state.first_producer_order is None:
                state.first_producer_order = next(self._producer_order)
            sink = self._link_sink
            if sink is not None:
                sink(producer, "reg", None, self._clock())
        handle = cls(self, producer)
        producer.handle_ref = weakref.ref(handle, self._weak_callback(producer))
        self._note_registration(where, name, producer_id)
        self._emit("registered", name, producer_id, where=where)
        self._diagnose_producer(producer, registered=True)
        return handle

    def _weak_callback(self, producer: ProducerState) -> Callable[[Any], None]:
        def dropped(_ref: Any) -> None:
            # Runs wherever the garbage collector happens to run, maybe inside one of our
            # locks: take none, just mark; the next registration, close or diagnostics()
            # call reports it (and emits its diagnostic event).
            if not producer.closed:
                producer.leaked = True
                self._leaks_pending = True
                self._diag_generation += 1

        return dropped

    def _note_registration(self, where: str, name: str, producer_id: str) -> None:
        now = self._clock()
        with self._lock:
            stamps = self._site_registrations.get(where)
            if stamps is None:
                stamps = self._site_registrations[where] = deque(maxlen=self._churn_threshold)
            stamps.append(now)
            if len(stamps) == self._churn_threshold and now - stamps[0] <= self._churn_window:
                self._churn[where] = _doctor.ChurnFact(
                    where, name, producer_id, len(stamps), self._churn_window
                )

    # The publish path. It is the one hot path of the library: locks are taken with
    # acquire()/release() (half the cost of `with` on CPython 3.11) and delivery is inlined.

    def _publish(self, producer: ProducerState, payload: Any) -> ChannelUpdate:
        validate = producer.validate
        if validate is not None:
            try:
                payload = validate(payload)
            except ValidationError as exc:
                raise self._rejected(producer, exc) from exc
        channel = producer.channel
        lock = channel.lock
        lock.acquire()
        try:
            if producer.closed:
                raise ProducerClosed(channel.name, producer.id, producer.registered_at, "publish")
            seq = self._last_seq = next(self._seq)
            now = self._clock()
            update: ChannelUpdate = _new_tuple(
                ChannelUpdate, (channel.name, producer.id, "published", payload, seq, now, None)
            )
            producer.value = payload
            producer.value_seq = seq
            holders = channel.holders
            if producer.has_value:
                del holders[producer]
            holders[producer] = None
            producer.has_value = True
            producer.publish_count += 1
            producer.last_publish = now
            channel.publish_count += 1
            channel.last_update = now
            channel.history.append(update)
            self._deliver_all(channel, update)
            sink = self._link_sink
            if sink is not None:
                sink(producer, "pub", payload, now)
        finally:
            lock.release()
        if producer.publish_count == 1 and not producer.validated and channel.model is not None:
            self._diag_generation += 1
            self._diagnose_producer(producer)  # a raw producer's first publish on a schema channel
        return update

    def _clear(self, producer: ProducerState) -> ChannelUpdate | None:
        channel = producer.channel
        with channel.lock:
            if producer.closed:
                raise ProducerClosed(channel.name, producer.id, producer.registered_at, "clear")
            return self._clear_locked(producer)

    def _clear_locked(self, producer: ProducerState) -> ChannelUpdate | None:
        if not producer.has_value:
            return None
        channel = producer.channel
        seq = self._last_seq = next(self._seq)
        now = self._clock()
        update = ChannelUpdate(
            channel.name, producer.id, "cleared", None, seq, now, producer.process
        )
        producer.value = None
        producer.value_seq = seq
        producer.has_value = False
        del channel.holders[producer]
        channel.last_update = now
        channel.history.append(update)
        self._deliver_all(channel, update)
        sink = self._link_sink
        if sink is not None and producer.process is None:
            sink(producer, "clr", None, now)
        return update

    def _deliver_all(self, channel: ChannelState, update: ChannelUpdate) -> None:
        """Hand ``update`` to every subscribed consumer, then to event listeners (lock held)."""
        for consumer in channel.targets:
            delivered = update
            if consumer.model is not None and update.value is not None:
                converted = self._converted(consumer, update)
                if converted is None:
                    continue
                delivered = converted
            consumer.delivered += 1
            for fn in consumer.callbacks:
                try:
                    fn(delivered)
                except Exception as exc:
                    self._consumer_failed(consumer, delivered, exc)
        listeners = (
            self._published_listeners if update.kind == "published" else self._cleared_listeners
        )
        if listeners:
            # Built by hand: this runs on every publish while a debug view listens.
            event: StoreEvent = _new_tuple(
                StoreEvent,
                (
                    update.kind,
                    channel.name,
                    update.producer_id,
                    update.timestamp,
                    None,
                    update,
                    None,
                    None,
                    None,
                    None,
                    None,
                    update.process,
                ),
            )
            for listener in listeners:
                try:
                    listener(event)
                except Exception:
                    logger.exception("event listener %r failed on %r", listener, update.kind)

    def _rejected(self, producer: ProducerState, exc: ValidationError) -> PublishValidationError:
        """Report a payload that failed validation; return the error to raise.

        A remote producer is named ``id@process`` in the error, and its event says which
        process sent the payload.
        """
        model = producer.channel.model
        assert model is not None
        process = producer.process
        error = PublishValidationError(
            producer.channel.name,
            producer.id if process is None else f"{producer.id}@{process}",
            producer.registered_at,
            model,
            exc.errors(include_url=False),
        )
        self._emit(
            "validation_failed",
            producer.channel.name,
            producer.id,
            where=producer.registered_at,
            message=str(error) if process is None else f"from process {process!r}: {error}",
            problems=error.problems,
            process=process,
        )
        return error

    def _consumer_failed(
        self, consumer: ConsumerState, update: ChannelUpdate, exc: Exception
    ) -> None:
        consumer.errors += 1
        text = "".join(traceback.format_exception(exc))
        logger.error(
            "consumer %r on channel %r (registered at %s) raised on update %d from %r:\n%s",
            consumer.id,
            update.channel,
            consumer.registered_at,
            update.seq,
            update.producer_id,
            text,
        )
        self._emit(
            "consumer_error",
            update.channel,
            update.producer_id,
            consumer_id=consumer.id,
            where=consumer.registered_at,
            message=f"{type(exc).__name__}: {exc}",
            traceback=text,
            update=update,
        )

    def _close_producer(self, producer: ProducerState, reason: str | None = None) -> None:
        channel = producer.channel
        with channel.lock:
            if producer.closed:
                return
            self._clear_locked(producer)
            producer.closed = True
            producer.handle_ref = None
            self._diag_generation += 1
            if producer.process is not None:
                if channel.remote.get(producer.key) is producer:
                    del channel.remote[producer.key]
            else:
                if channel.producers.get(producer.id) is producer:
                    del channel.producers[producer.id]
                site = channel.sites.get(producer.registered_at)
                if site is not None:
                    site.pop(producer, None)
                    if not site:
                        del channel.sites[producer.registered_at]
                sink = self._link_sink
                if sink is not None:
                    sink(producer, "close", None, self._clock())
        self._emit(
            "closed",
            channel.name,
            producer.id,
            where=producer.registered_at,
            message=reason,
            process=producer.process,
        )
        if producer.process is None:
            self._forget_diagnostics(producer)

    def _mark_job_failed(self, producer: ProducerState, error: str) -> None:
        producer.job_error = error
        self._diag_generation += 1
        self._diagnose_producer(producer)

    # -- consumers -------------------------------------------------------------------------

    def register_consumer(
        self,
        channel: str | Enum,
        consumer_id: str,
        callback: Callback | None = None,
    ) -> Consumer:
        """Register a consumer; ``callback``, if given, is subscribed as by ``subscribe``.

        The store holds the consumer and its callbacks until ``close()``.
        """
        return self._register_consumer(channel_name(channel), consumer_id, callback, None)

    def _register_consumer(
        self,
        name: str,
        consumer_id: str,
        callback: Callback | None,
        model: type[BaseModel] | None,
        where: str | None = None,
    ) -> Consumer:
        check_id("consumer", consumer_id)
        where = where or _callsite.caller_location()
        state = self._channel(name)
        consumer = ConsumerState(state, consumer_id, where, model)
        with state.lock:
            state.consumers.append(consumer)
        handle: Consumer = (
            Consumer(self, consumer) if model is None else WidgetConsumer(self, consumer)
        )
        if callback is not None:
            handle.subscribe(callback)
        self._emit("consumer_registered", name, None, consumer_id=consumer_id, where=where)
        return handle

    def _subscribe(self, consumer: ConsumerState, fn: Callback) -> Callable[[], None]:
        if not callable(fn):
            raise TypeError(f"subscribe() needs a callable, not {fn!r}")
        channel = consumer.channel
        with channel.lock:
            if consumer.closed:
                raise ConsumerClosed(channel.name, consumer.id, consumer.registered_at)
            consumer.callbacks = (*consumer.callbacks, fn)
            channel.rebuild_targets()

        def unsubscribe() -> None:
            with channel.lock:
                callbacks = list(consumer.callbacks)
                if fn in callbacks:
                    callbacks.remove(fn)
                    consumer.callbacks = tuple(callbacks)
                    channel.rebuild_targets()

        return unsubscribe

    def _close_consumer(self, consumer: ConsumerState) -> None:
        channel = consumer.channel
        with channel.lock:
            if consumer.closed:
                return
            consumer.closed = True
            consumer.callbacks = ()
            channel.consumers.remove(consumer)
            channel.rebuild_targets()
            streams = list(consumer.streams)
        for stream in streams:
            stream.end()
        self._emit(
            "consumer_closed",
            channel.name,
            None,
            consumer_id=consumer.id,
            where=consumer.registered_at,
        )

    def _converted(self, consumer: ConsumerState, update: ChannelUpdate) -> ChannelUpdate | None:
        """``update`` with its value as the consumer's model, or None if it does not validate.

        A rejection is reported as a ``validation_failed`` event naming the consumer.
        """
        model = consumer.model
        assert model is not None
        if type(update.value) is model:
            return update
        try:
            value = model.__pydantic_validator__.validate_python(update.value)
        except ValidationError as exc:
            error = PublishValidationError(
                consumer.channel.name,
                consumer.id,
                consumer.registered_at,
                model,
                exc.errors(include_url=False),
                role="consumer",
            )
            self._emit(
                "validation_failed",
                consumer.channel.name,
                update.producer_id,
                consumer_id=consumer.id,
                where=consumer.registered_at,
                message=str(error),
                problems=error.problems,
            )
            return None
        return update._replace(value=value)

    @staticmethod
    def _try_convert(model: type[M], payload: Any) -> M | None:
        if isinstance(payload, model):
            return payload
        try:
            return model.model_validate(payload)
        except ValidationError:
            return None

    # -- reading ---------------------------------------------------------------------------

    def get(self, channel: str | Enum) -> Any:
        """The newest value among the channel's producers that hold one, or None."""
        state = self._channels.get(channel_name(channel))
        if state is None:
            return None
        with state.lock:
            return state.latest_value()

    def values(self, channel: str | Enum) -> dict[str, Any]:
        """``{producer_id: payload}`` of producers holding a value, in registration order.

        Local producers come first; those of linked processes follow, keyed
        ``"<id>@<process>"``.
        """
        state = self._channels.get(channel_name(channel))
        if state is None:
            return {}
        with state.lock:
            out = {p.id: p.value for p in state.producers.values() if p.has_value}
            if state.remote:
                out.update((p.key, p.value) for p in state.remote.values() if p.has_value)
            return out

    def _newest_converted(self, channel: str, model: type[M]) -> M | None:
        """The newest value that is (or validates as) ``model``: O(1) when the newest fits."""
        state = self._channels.get(channel)
        if state is None:
            return None
        with state.lock:
            for producer in reversed(state.holders):
                converted = self._try_convert(model, producer.value)
                if converted is not None:
                    return converted
        return None

    def history(self, channel: str | Enum) -> list[ChannelUpdate]:
        """Past updates of the channel (publishes and clears), oldest first, bounded."""
        state = self._channels.get(channel_name(channel))
        if state is None:
            return []
        with state.lock:
            return list(state.history)

    def channels(self) -> list[ChannelInfo]:
        """Every channel the store has seen, in the order it first saw them."""
        out = []
        for state in self._existing_channels():
            with state.lock:
                out.append(
                    ChannelInfo(
                        state.name,
                        None if state.model is None else state.model.__name__,
                        len(state.producers) + len(state.remote),
                        len(state.consumers),
                        state.publish_count,
                        state.last_update,
                    )
                )
        return out

    def producers(self, channel: str | Enum | None = None) -> list[ProducerInfo]:
        """Open producers, by channel then registration order; one channel's if given."""
        out: list[ProducerInfo] = []
        for state in self._selected(channel):
            with state.lock:
                out.extend(
                    ProducerInfo(
                        p.id,
                        state.name,
                        p.kind,
                        p.registered_at,
                        p.publish_count,
                        p.last_publish,
                        p.has_value,
                        p.leaked,
                        p.validated,
                        p.value_seq if p.has_value else None,
                        p.process,
                    )
                    for p in state.all_producers()
                )
        return out

    def consumers(self, channel: str | Enum | None = None) -> list[ConsumerInfo]:
        """Open consumers, by channel then registration order; one channel's if given."""
        out: list[ConsumerInfo] = []
        for state in self._selected(channel):
            with state.lock:
                out.extend(
                    ConsumerInfo(
                        c.id,
                        state.name,
                        c.registered_at,
                        c.delivered,
                        c.errors,
                        len(c.callbacks),
                        None if c.model is None else c.model.__name__,
                    )
                    for c in state.consumers
                )
        return out

    def _selected(self, channel: str | Enum | None) -> Iterable[ChannelState]:
        if channel is None:
            return self._existing_channels()
        state = self._channels.get(channel_name(channel))
        return [] if state is None else [state]

    def log_producers(self, channel: str | Enum | None = None) -> str:
        """The "Log Producers" debug text: every channel's open producers (README, exact)."""
        blocks = []
        for state in self._selected(channel):
            with state.lock:
                if (state.producers or state.remote) and state.first_producer_order is not None:
                    producers: list[tuple[str, str]] = [
                        (p.id, p.kind) for p in state.producers.values()
                    ]
                    producers += [(p.id, f"{p.kind} @ {p.process}") for p in state.remote.values()]
                    blocks.append((state.first_producer_order, state.name, producers))
        blocks.sort(key=lambda block: block[0])
        return format_log_producers([(name, producers) for _, name, producers in blocks])

    def snapshot(self) -> dict[str, Any]:
        """Everything a debug view needs, as JSON-serializable data.

        Keys: ``version``, ``seq`` (the last update's), ``channels``, ``producers``,
        ``consumers``, ``values`` (channel → producer id → payload, models dumped to JSON
        data, unknown objects as strings) and ``diagnostics``.
        """
        values: dict[str, dict[str, Any]] = {}
        for state in self._existing_channels():
            held = self.values(state.name)
            if held:
                values[state.name] = jsonable(held)
        return {
            "version": SNAPSHOT_VERSION,
            "seq": self._last_seq,
            "channels": [c.to_dict() for c in self.channels()],
            "producers": [p.to_dict() for p in self.producers()],
            "consumers": [c.to_dict() for c in self.consumers()],
            "values": values,
            "diagnostics": [d.to_dict() for d in self._quiet_diagnostics()],
        }

    # -- events and the doctor -------------------------------------------------------------

    def subscribe_events(
        self, fn: EventListener, *, kinds: Iterable[EventKind] | None = None
    ) -> Callable[[], None]:
        """Call ``fn(event)`` for every store event (or only those of ``kinds``).

        Events are emitted in the thread that caused them (a publish's in the publishing
        thread, under the channel's lock, so they arrive in order). A listener that raises
        is logged on the ``mapstore_core`` logger and does not affect the store. Leaving
        ``published`` out of ``kinds`` keeps a listener off the publish path entirely.

        Returns:
            A function that unsubscribes ``fn``; calling it twice is harmless.

        Raises:
            ValueError: ``kinds`` names an event kind that does not exist.
        """
        if not callable(fn):
            raise TypeError(f"subscribe_events() needs a callable, not {fn!r}")
        wanted = None if kinds is None else frozenset(kinds)
        if wanted is not None and not wanted <= EVENT_KINDS:
            unknown = ", ".join(sorted(wanted - EVENT_KINDS))
            raise ValueError(f"unknown event kinds: {unknown}; known: {sorted(EVENT_KINDS)}")
        entry = (fn, wanted)
        with self._lock:
            self._subscriptions.append(entry)
            self._rebuild_listeners()

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._subscriptions:
                    self._subscriptions.remove(entry)
                    self._rebuild_listeners()

        return unsubscribe

    def _rebuild_listeners(self) -> None:
        by_kind = {
            kind: tuple(fn for fn, kinds in self._subscriptions if kinds is None or kind in kinds)
            for kind in EVENT_KINDS
        }
        self._by_kind = by_kind
        self._published_listeners = by_kind["published"]
        self._cleared_listeners = by_kind["cleared"]

    def _emit(
        self,
        kind: EventKind,
        channel: str | None,
        producer_id: str | None,
        **fields: Any,
    ) -> None:
        listeners = self._by_kind[kind]
        if not listeners:
            return
        event = StoreEvent(kind, channel, producer_id, self._clock(), **fields)
        for fn in listeners:
            try:
                fn(event)
            except Exception:
                logger.exception("event listener %r failed on %r", fn, kind)

    def diagnostics(self) -> list[Diagnostic]:
        """Run the doctor: every current breach of the registration guide.

        A finding that is new since the last evaluation is also emitted as a ``diagnostic``
        event (evaluations happen on registration, close, schema definition, a raw publish on
        a schema channel, a job failure, and every call of this method).
        """
        cached = self._diag_cache
        if cached is not None and cached[0] == self._diag_generation and not self._leaks_pending:
            return list(cached[1]) + self._fleet_findings()
        generation = self._diag_generation
        found = self._refresh_diagnostics()
        self._diag_cache = (generation, found)
        return list(found) + self._fleet_findings()

    @staticmethod
    def _fact(state: ChannelState, p: ProducerState) -> _doctor.ProducerFacts:
        return _new_tuple(
            _doctor.ProducerFacts,
            (
                state.name,
                p.id,
                p.kind,
                p.registered_at,
                p.validated,
                state.model is not None,
                p.publish_count,
                p.leaked,
                p.widget,
                p.job_error,
            ),
        )

    def _facts(self, channels: Iterable[ChannelState]) -> list[_doctor.ProducerFacts]:
        facts: list[_doctor.ProducerFacts] = []
        fact = self._fact
        for state in channels:
            with state.lock:  # local producers only: each process's doctor covers its own
                facts.extend(fact(state, p) for p in state.producers.values())
        return facts

    def _quiet_diagnostics(self) -> list[Diagnostic]:
        """The doctor's findings, with no event emitted and nothing marked as reported.

        For reads (a snapshot, a debug panel's request): reading must not change what the
        app's own listeners see.
        """
        channels = self._existing_channels()
        names = {state.name for state in channels}
        with self._lock:
            churn = [c for c in self._churn.values() if c.channel in names]
        return _doctor.diagnose(self._facts(channels), churn) + self._fleet_findings()

    def _refresh_diagnostics(self, scope: ChannelState | None = None) -> list[Diagnostic]:
        """Evaluate the doctor over one channel (or all) and emit the new findings.

        Used when a whole channel's facts change (a schema defined) and by ``diagnostics()``;
        a registration, close or publish goes through ``_diagnose_producer`` (O(1)). A
        pending leak widens the evaluation to every channel.
        """
        if scope is not None and not self._by_kind["diagnostic"]:
            return []  # nobody to tell; diagnostics() evaluates everything when asked
        if self._leaks_pending:
            self._leaks_pending = False
            scope = None
        channels = self._existing_channels() if scope is None else [scope]
        names = {state.name for state in channels}
        with self._lock:
            churn = [c for c in self._churn.values() if c.channel in names]
        found = _doctor.diagnose(self._facts(channels), churn)
        by_channel: dict[str, dict[str, set[tuple[str, str, str]]]] = {n: {} for n in names}
        new: list[Diagnostic] = []
        with self._diag_lock:
            known = self._known_diagnostics
            for finding in found:
                channel, producer_id = finding.channel, finding.producer_id
                key = (finding.rule, channel, producer_id)
                mine = by_channel[channel].get(producer_id)
                if mine is None:
                    mine = by_channel[channel][producer_id] = set()
                mine.add(key)
                before = known.get(channel)
                if before is None or key not in before.get(producer_id, ()):
                    new.append(finding)
            known.update(by_channel)
        self._emit_findings(new)
        return found

    def _diagnose_producer(self, producer: ProducerState, *, registered: bool = False) -> None:
        """Evaluate the doctor for one local producer that changed, and emit new findings.

        O(1) whatever the channel holds: the rules that look at one producer, its site's
        duplicate-source group (kept by the channel) and its site's churn.
        """
        if not self._by_kind["diagnostic"] or producer.process is not None:
            return
        if self._leaks_pending:
            self._refresh_diagnostics()
            return
        state = producer.channel
        where = producer.registered_at
        with self._lock:
            churn = self._churn.get(where)
        found: list[Diagnostic] = []
        with state.lock:
            if producer.closed:
                return
            found += _doctor.producer_findings(
                self._fact(state, producer),
                [] if churn is None or churn.channel != state.name else [churn],
            )
            group = state.sites.get(where, {})
            if producer.kind == "producer" and len(group) >= 2:
                first = [p.id for p in itertools.islice(group, _doctor.SHOWN_IDS)]
                targets = [producer]
                if registered and len(group) == 2:
                    targets = list(group)  # the group just formed: both are duplicates now
                found += [
                    _doctor.duplicate_source(state.name, where, p.id, first, len(group))
                    for p in targets
                ]
        new: list[Diagnostic] = []
        with self._diag_lock:
            known = self._known_diagnostics.setdefault(state.name, {})
            for finding in found:
                keys = known.setdefault(finding.producer_id, set())
                if finding.key not in keys:
                    keys.add(finding.key)
                    new.append(finding)
        self._emit_findings(new)

    def _forget_diagnostics(self, producer: ProducerState) -> None:
        """Drop a closed producer's known findings (and its lone site-mate's duplicate one)."""
        state = producer.channel
        with state.lock:
            site = state.sites.get(producer.registered_at, {})
            group = list(site) if len(site) == 1 else []
        with self._diag_lock:
            known = self._known_diagnostics.get(state.name)
            if not known:
                return
            keys = known.get(producer.id)
            if keys:  # a burst's churn finding outlives the producer, as its fact does
                kept = {key for key in keys if key[0] == "registration-churn"}
                if kept:
                    known[producer.id] = kept
                else:
                    del known[producer.id]
            if len(group) == 1:
                keys = known.get(group[0].id)
                if keys is not None:
                    keys.discard(("duplicate-source", state.name, group[0].id))

    def _emit_findings(self, findings: Iterable[Diagnostic]) -> None:
        for finding in findings:
            self._emit(
                "diagnostic",
                finding.channel,
                finding.producer_id,
                where=finding.where,
                message=finding.message,
                diagnostic=finding,
            )

    def dry_run(self, channel: str | Enum, payload: Any) -> dict[str, Any]:
        """Check a payload against a channel without publishing it.

        Returns JSON-ready data: ``valid``, ``schema`` (the model's name, or None on a raw
        channel, where anything is valid), ``problems`` (field → message), ``receivers``
        (ids of the consumers whose callbacks a publish would reach) and ``exists``. A channel
        the store has never seen is not valid: nobody would receive the payload, and a typo
        in a channel name is the likelier story.
        """
        name = channel_name(channel)
        if name not in self._channels:
            return {
                "valid": False,
                "exists": False,
                "schema": None,
                "problems": {
                    "(channel)": f"channel {name!r} does not exist in this store: "
                    "no producer or consumer has used it, so nobody would receive this payload"
                },
                "receivers": [],
            }
        receivers = [c.id for c in self.consumers(name) if c.subscribers]
        model = self.schema(name)
        problems: dict[str, str] = {}
        if model is not None:
            try:
                model.__pydantic_validator__.validate_python(payload)
            except ValidationError as exc:
                problems = field_problems(model, exc.errors(include_url=False))
        return {
            "valid": not problems,
            "exists": True,
            "schema": None if model is None else model.__name__,
            "problems": problems,
            "receivers": receivers,
        }

    def serve_debug(
        self,
        name: str | None = None,
        *,
        path: str | os.PathLike[str] | None = None,
        host: str | None = None,
        port: int | None = None,
        token: str | None = None,
        allow_dry_run: bool = False,
        announce: bool = True,
        max_clients: int = 16,
        max_pending: int = 16,
    ) -> DebugServer:
        """Start a debug endpoint for panels in other processes (``mapstore-tui attach``).

        By default a Unix socket only you can open, named after the program (``name``:
        ``app`` for ``python app.py``, ``app-2`` while another live ``app`` runs), so a
        restarted app serves the same address and ``mapstore-tui ls`` finds it (``path=``: a
        socket of your own, in an existing private directory, instead); a per-process
        token is written next to it, and both are removed at exit. TCP (``port=``) binds to
        loopback unless ``host`` says otherwise. Read-only unless ``allow_dry_run``. Returns
        the running ``DebugServer`` (``.address``, ``.name``, ``.token``, ``.close()``). With
        ``announce`` (the default) the attach command is printed on stderr; it is also logged
        on ``mapstore_core.debug``.

        Raises:
            DebugEndpointError: the endpoint cannot be served there (a live endpoint holds
                ``path``, a file that is not a socket is there, its directory is not private).
        """
        from mapstore_core.remote import DebugServer

        server = DebugServer(
            self,
            name=name,
            path=path,
            host=host,
            port=port,
            token=token,
            allow_dry_run=allow_dry_run,
            max_clients=max_clients,
            max_pending=max_pending,
        ).start()
        if announce:
            target = server.name if not server.tcp else server.address
            print(f"mapstore: attach with `mapstore-tui attach {target}`", file=sys.stderr)
        return server

    # -- linked processes (store.link) ---------------------------------------------------

    def link(
        self,
        url: str,
        *,
        namespace: str = "mapstore",
        name: str | None = None,
        heartbeat: float = 1.0,
        max_queue: int = 10_000,
        observer: bool = False,
    ) -> StoreLink:
        """Share this store with every other store linked to ``namespace`` on one Redis.

        Local first: nothing here waits on Redis. The link connects (and reconnects) in a
        background thread; ``publish()`` only queues for it, and under pressure the queue
        coalesces to each producer's newest value (counted in ``stats()``). Producers of the
        other processes appear here with ``process`` set; see the README's "Many processes,
        many machines" for what crosses and what is guaranteed. Needs ``mapstore[redis]``.

        Args:
            url: ``redis://[user:password@]host:port/db``, ``rediss://`` for TLS, or
                ``unix:///path/to/redis.sock``.
            namespace: Stores meet only within one namespace.
            name: How other processes name this one; ``"<host>:<pid>"`` by default.
            heartbeat: Seconds between heartbeats; 3 missed ones mean this process is gone.
            max_queue: Updates held for Redis before coalescing to the newest per producer.
            observer: Only watch (the fleet panel): receive every process's producers, but
                announce nothing, publish nothing and count as no process of the fleet.

        Raises:
            LinkError: the redis extra is missing, an argument is invalid, or the store is
                already linked.
        """
        from mapstore_core.remote._link import StoreLink

        return StoreLink(
            self,
            url,
            namespace=namespace,
            name=name,
            heartbeat=heartbeat,
            max_queue=max_queue,
            observer=observer,
        )

    @property
    def linked(self) -> StoreLink | None:
        """The store's link (``store.link(...)``), or None while it is not linked."""
        return self._link

    def processes(self) -> list[ProcessInfo]:
        """The processes of the linked namespace (empty when the store is not linked).

        Name, host, pid, program, heartbeat age (Redis's clock), alive or gone (a gone one
        stays listed for 10 minutes, with its producers' last values marked stale), its
        producers and consumers, publish rate, link drops and schema fingerprints.
        """
        link = self._link
        return [] if link is None else link.processes()

    def _fleet_findings(self) -> list[Diagnostic]:
        link = self._link
        return [] if link is None else link._fleet_diagnostics()

    def _attach_link(self, link: StoreLink, sink: LinkSink) -> list[tuple[ProducerState, int]]:
        """Start handing local changes to ``sink``; return every open local producer.

        Each comes with its ``link_n`` from before the sink was set: the sink is set first,
        so nothing published meanwhile is missed, and a producer whose number changed since
        was handed to the sink already (only a sink changes it).
        """
        before: dict[ProducerState, int] = {}
        for state in self._existing_channels():
            with state.lock:
                for producer in state.producers.values():
                    before[producer] = producer.link_n
        with self._lock:
            if self._link is not None:
                raise LinkError(f"this store is already linked ({self._link!r}); close it first")
            self._link = link
            self._link_sink = sink
        current: list[tuple[ProducerState, int]] = []
        for state in self._existing_channels():
            with state.lock:
                current += [(p, before.get(p, 0)) for p in state.producers.values()]
        return current

    def _detach_link(self, link: StoreLink, reason: str) -> None:
        """Stop handing changes to ``link`` and close every remote producer (``reason``)."""
        with self._lock:
            if self._link is not link:
                return
            self._link = None
            self._link_sink = None
        self._close_remote(None, reason)

    def _close_remote(self, process: str | None, reason: str) -> int:
        """Close the remote producers of ``process`` (every process's if None); count them."""
        closed = 0
        for state in self._existing_channels():
            with state.lock:
                doomed = [p for p in state.remote.values() if process in (None, p.process)]
            for producer in doomed:
                self._close_producer(producer, reason)
                closed += 1
        return closed

    def _remote_processes(self) -> set[str]:
        """Names of the processes that have producers in this store."""
        found: set[str] = set()
        for state in self._existing_channels():
            with state.lock:
                found.update(p.process for p in state.remote.values() if p.process)
        return found

    def _remote_update(
        self,
        process: str,
        channel: str,
        producer_id: str,
        meta: tuple[ProducerKind, str, bool],
        op: str,
        n: int,
        payload: Any,
        *,
        folded: int = 0,
    ) -> tuple[str, int]:
        """Apply one change of a remote producer; return (outcome, updates skipped before it).

        Outcomes: ``applied``, ``duplicate`` (``n`` already seen: a re-send), ``rejected``
        (the payload failed this store's model: a ``validation_failed`` event names the
        producer and its process, and its previous value stays). A jump in ``n`` means the
        sender skipped updates under pressure: a ``gap`` marker goes into the history and a
        ``link_dropped`` event says how many. ``folded``: publishes just before this one
        that an observer skipped on purpose (counted as publishes, not as a gap).
        """
        state = self._channel(channel)
        key = f"{producer_id}@{process}"
        kind, where, validated = meta
        with state.lock:
            producer = state.remote.get(key)
            created = producer is None
            if producer is None:
                if op == "close":
                    return ("duplicate", 0)
                producer = ProducerState(
                    state, producer_id, kind, where, validated=False, widget=None, process=process
                )
                producer.validated = validated
                producer.remote_n = n - 1
                state.remote[key] = producer
                if state.first_producer_order is None:
                    state.first_producer_order = next(self._producer_order)
            if n <= producer.remote_n:
                return ("duplicate", 0)
            skipped = n - producer.remote_n - 1 - folded
            producer.remote_n = n
            if created:
                self._emit("registered", channel, producer_id, where=where, process=process)
            if skipped > 0:
                self._remote_gap(producer, skipped)
            if op == "pub":
                if state.model is not None:
                    try:
                        payload = state.model.__pydantic_validator__.validate_python(payload)
                    except ValidationError as exc:
                        self._rejected(producer, exc)
                        return ("rejected", skipped)
                self._apply_remote_publish(producer, payload)
                if folded:
                    producer.publish_count += folded
                    state.publish_count += folded
            elif op == "clr":
                self._clear_locked(producer)
        if op == "close":
            self._close_producer(producer, payload if isinstance(payload, str) else None)
        return ("applied", skipped)

    def _apply_remote_publish(self, producer: ProducerState, payload: Any) -> None:
        channel = producer.channel  # lock held by the caller
        seq = self._last_seq = next(self._seq)
        now = self._clock()
        update = ChannelUpdate(
            channel.name, producer.id, "published", payload, seq, now, producer.process
        )
        producer.value = payload
        producer.value_seq = seq
        if producer.has_value:
            del channel.holders[producer]
        channel.holders[producer] = None
        producer.has_value = True
        producer.publish_count += 1
        producer.last_publish = now
        channel.publish_count += 1
        channel.last_update = now
        channel.history.append(update)
        self._deliver_all(channel, update)

    def _remote_gap(self, producer: ProducerState, skipped: int) -> None:
        channel = producer.channel  # lock held by the caller
        seq = self._last_seq = next(self._seq)
        now = self._clock()
        channel.history.append(
            ChannelUpdate(
                channel.name, producer.id, "gap", {"skipped": skipped}, seq, now, producer.process
            )
        )
        self._emit(
            "link_dropped",
            channel.name,
            producer.id,
            where=producer.registered_at,
            message=f"{skipped} update(s) of {producer.id!r} in process {producer.process!r} "
            "were skipped on the way (the link coalesced under pressure); the newest follows",
            process=producer.process,
        )

    def _link_event(self, kind: EventKind, message: str, *, process: str | None = None) -> None:
        """Emit a link's own event (``link_status``, ``link_dropped``) on this store."""
        self._emit(kind, None, None, message=message, process=process)

    def __repr__(self) -> str:
        return f"<MapObjectStore channels={len(self._channels)} seq={self._last_seq}>"
