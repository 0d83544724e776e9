"""``MapObjectStore``: named channels, the producers that publish on them, their consumers.

The store proper: registration, publishing, delivery and its events. Its state and the
bookkeeping that changes it live in ``_state`` (shared with every mirror), its reads in
``_reads``, the doctor's incremental half in ``_watch``, and its linked half (what a link may do
through ``_port.StorePort``) in ``_linked``.

Every change is one ``StoreEvent``, emitted under the channel's lock in the order the changes
happen (a publish's before its consumers are called), so a mirror fed the events folds the
same state; listeners therefore run under the channel lock and must only queue.

Locking: each channel has a reentrant lock that guards its producers, consumers, counters and
history and is held while an update is delivered (that is what keeps per-channel order); the
state's lock guards the channel table, the churn record and the fleet, and is only ever taken
last and briefly: nothing waits for a channel lock while holding it, so a callback may
register or publish without deadlocking.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import traceback
import weakref
from collections.abc import Callable, Iterable
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from mapstore_core import _callsite
from mapstore_core._errors import (
    ChannelNotDefined,
    ChannelSchemaConflict,
    ConsumerClosed,
    LinkError,
    ProducerAlreadyRegistered,
    ProducerClosed,
    PublishValidationError,
)
from mapstore_core._events import EventKind, StoreEvent, tell, update_event
from mapstore_core._fields import field_problems
from mapstore_core._handles import Consumer, Producer, WidgetConsumer
from mapstore_core._linked import LinkedSide
from mapstore_core._listeners import EventListener, Listeners
from mapstore_core._names import channel_name, check_id
from mapstore_core._port import LinkSink, StorePort, TapPort
from mapstore_core._public import public
from mapstore_core._reads import StoreReads
from mapstore_core._records import ChannelUpdate, Diagnostic, ProducerKind
from mapstore_core._schemas import WIDGET_MODELS
from mapstore_core._state import Callback, ChannelState, ConsumerState, ProducerState, StoreState
from mapstore_core._watch import DoctorWatch

if TYPE_CHECKING:
    from mapstore_core.debug import DebugServer
    from mapstore_core.link import StoreLink
    from mapstore_core.recording import FlightRecorder, Recording

__all__ = ["MapObjectStore"]

logger = logging.getLogger("mapstore_core")

M = TypeVar("M", bound=BaseModel)
P = TypeVar("P", bound=Producer)

# Building the publish path's named tuples with tuple.__new__ skips NamedTuple's Python-level
# __new__, which costs twice as much.
_new_tuple = tuple.__new__


@public
class MapObjectStore(StoreReads, LinkedSide):
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
        self._state = StoreState(history_size, churn_threshold, churn_window)
        self._leaks = self._state.leaks  # the publish path looks at it: one lookup
        self._clock = clock
        # (listener, kinds or None for all) in subscription order, and per kind the listeners
        # that want it: the publish path reads one tuple and builds no event if it is empty.
        self._published_listeners: tuple[EventListener, ...] = ()  # read by every publish
        self._listeners = Listeners(self._listeners_changed)
        self._link_sink: LinkSink | None = None
        self._link: StoreLink | None = None
        # Recorders' tapes (TapPort): the publish path hands each update to ``_tape``, one
        # C-level append (or a fan-out over several), instead of building an event for it.
        self._tape: Callable[[Any], object] | None = None
        self._tapes: tuple[Callable[[Any], object], ...] = ()
        self._watch = DoctorWatch(
            self._state, self._tell_finding, lambda: bool(self._listeners.by_kind["diagnostic"])
        )
        for channel, model in WIDGET_MODELS.items():  # part of every store from the start
            state = self._state.channel(channel_name(channel))
            state.model = model
            state.define(model.__name__, None)

    @property
    def history_size(self) -> int:
        """How many past updates each channel keeps."""
        return self._state.history_size

    # -- events ----------------------------------------------------------------------------

    def subscribe_events(
        self, fn: EventListener, *, kinds: Iterable[EventKind] | None = None
    ) -> Callable[[], None]:
        """Call ``fn(event)`` for every store event (or only those of ``kinds``).

        Every change is one event, emitted in the thread that made it, under the channel's
        lock, in the order of the changes (a publish's before its consumers are called), so
        a listener sees each channel's changes in order and can fold them into a mirror
        (``StoreMirror``). A listener must only queue: it runs on the publish path. One that
        raises is logged on the ``mapstore_core`` logger and does not affect the store.
        Leaving ``published`` out of ``kinds`` keeps a listener off the publish path.

        Returns:
            A function that unsubscribes ``fn``; calling it twice is harmless.

        Raises:
            ValueError: ``kinds`` names an event kind that does not exist.
        """
        return self._listeners.add(fn, kinds)

    def _add_tape(self, append: Callable[[Any], object]) -> Callable[[], None]:
        """Hand every local and remote publish's update (or event) to ``append``.

        Returns what removes it. See ``TapPort``.
        """
        with self._state.lock:
            self._tapes = (*self._tapes, append)
            self._set_tape()

        def remove() -> None:
            with self._state.lock:
                tapes = list(self._tapes)
                if append in tapes:
                    tapes.remove(append)
                    self._tapes = tuple(tapes)
                    self._set_tape()

        return remove

    def _set_tape(self) -> None:
        tapes = self._tapes
        if len(tapes) <= 1:
            self._tape = tapes[0] if tapes else None
            return

        def fan_out(item: Any) -> None:
            for append in tapes:
                append(item)

        self._tape = fan_out

    def _listeners_changed(self, listeners: Listeners) -> None:
        self._published_listeners = listeners.by_kind["published"]

    def _emit(
        self, kind: EventKind, channel: str | None, producer_id: str | None, **fields: Any
    ) -> None:
        listeners = self._listeners.by_kind[kind]
        if not listeners:
            return
        timestamp = fields.pop("timestamp", None)
        event = StoreEvent(
            kind, channel, producer_id, self._clock() if timestamp is None else timestamp, **fields
        )
        tell(listeners, event)

    def _stamp(self, channel: ChannelState) -> int:
        """Number a change of ``channel`` (its lock held)."""
        seq = channel.seq = self._state.next_seq()
        return seq

    # -- channels --------------------------------------------------------------------------

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
        self._notice()
        state = self._state.channel(name)
        with state.lock:
            if state.model is model:
                return name
            if state.model is not None:
                raise ChannelSchemaConflict(name, state.model.__name__, model.__name__)
            state.model = model
            schema = None
            if self._listeners.by_kind["channel_defined"]:  # a mirror needs it; nobody else yet
                schema = model.model_json_schema(by_alias=False)
            state.define(model.__name__, schema)
            seq = self._stamp(state)
            self._emit(
                "channel_defined",
                name,
                None,
                seq=seq,
                message=f"schema {model.__name__}",
                detail={"model": model.__name__, "schema": schema},
            )
        self._watch.channel(state)
        return name

    def schema(self, channel: str | Enum) -> type[BaseModel] | None:
        """The channel's model, or None for a raw channel (or one never seen)."""
        state = self._state.channels.get(channel_name(channel))
        return None if state is None else state.model

    def _require_model(self, name: str) -> ChannelState:
        state = self._state.channels.get(name)
        if state is None or state.model is None:
            known = [s.name for s in self._state.existing() if s.model is not None]
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
        self._notice()
        state = self._require_model(name) if validated else self._state.channel(name)
        producer = ProducerState(
            state, producer_id, kind, where, validated=validated, widget=widget
        )
        now = self._clock()
        with state.lock:
            first = state.producers.get(producer_id)
            if first is not None:
                raise ProducerAlreadyRegistered(name, producer_id, first.registered_at)
            state.add_producer(producer)
            seq = self._stamp(state)
            sink = self._link_sink
            if sink is not None:
                sink(producer, "reg", None, now)
            self._emit(
                "registered",
                name,
                producer_id,
                timestamp=now,
                seq=seq,
                where=where,
                detail={
                    "kind": kind,
                    "validated": validated,
                    "widget": widget,
                    "order": state.first_producer_order,
                },
            )
        with self._state.lock:
            self._state.churn.note(where, name, producer_id, now)
        handle = cls(self, producer)
        producer.handle_ref = weakref.ref(handle, self._weak_callback(producer))
        self._watch.producer(producer, registered=True)
        return handle

    def _weak_callback(self, producer: ProducerState) -> Callable[[Any], None]:
        leaks = self._state.leaks

        def dropped(_ref: Any) -> None:
            # Runs wherever the garbage collector happens to run, maybe inside one of our
            # locks or a listener's: take none, emit nothing, just note it (list.append is
            # atomic); the store's next call reports it (_notice).
            if not producer.closed:
                leaks.append(producer)

        return dropped

    def _notice(self) -> None:
        """Report the producers whose handle was collected unclosed (a ``leaked`` event each).

        The garbage collector's callback cannot do it (it may run inside any lock), so the
        store's next change does, before anything else (a publish: before it takes its
        channel's lock). Reads never do: reading changes nothing, not even the events an app
        sees, so a leak shows in ``producers()`` and the doctor from the next change on.
        """
        leaks = self._state.leaks
        if not leaks:
            return
        taken = leaks[:]
        del leaks[: len(taken)]
        for producer in taken:
            channel = producer.channel
            with channel.lock:
                if producer.closed or producer.leaked:
                    continue
                channel.leaked(producer)
                self._emit(
                    "leaked",
                    channel.name,
                    producer.id,
                    seq=self._stamp(channel),
                    where=producer.registered_at,
                    message="its handle was garbage-collected without close()",
                )
            self._watch.producer(producer)

    # The publish path. It is the one hot path of the library: locks are taken with
    # acquire()/release() (half the cost of `with` on CPython 3.11) and delivery is inlined.

    def _publish(self, producer: ProducerState, payload: Any) -> ChannelUpdate:
        if self._leaks:
            self._notice()
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
            state = self._state
            seq = state.last_seq = next(state.seqs)
            now = self._clock()
            update: ChannelUpdate = _new_tuple(
                ChannelUpdate, (channel.name, producer.id, "published", payload, seq, now, None)
            )
            channel.publish(producer, update, payload, seq, now)
            listeners = self._published_listeners
            if listeners:
                tell(listeners, update_event(update))
            tape = self._tape
            if tape is not None:
                tape(update)
            # _deliver, inlined: a call is ~5% of a publish (measured in instructions with
            # callgrind); the state machine in tests/core/test_mirror.py holds both to the
            # same deliveries, errors and refusals.
            for consumer in channel.targets:
                delivered = update
                if consumer.model is not None and payload is not None:
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
            sink = self._link_sink
            if sink is not None:
                sink(producer, "pub", payload, now)
        finally:
            lock.release()
        if not producer.validated and producer.publish_count == 1 and channel.model is not None:
            self._watch.producer(producer)  # a raw producer's first publish on a schema channel
        return update

    def _clear(self, producer: ProducerState) -> ChannelUpdate | None:
        channel = producer.channel
        self._notice()
        with channel.lock:
            if producer.closed:
                raise ProducerClosed(channel.name, producer.id, producer.registered_at, "clear")
            return self._clear_locked(producer)

    def _clear_locked(self, producer: ProducerState) -> ChannelUpdate | None:
        if not producer.has_value:
            return None
        channel = producer.channel
        seq = self._state.next_seq()
        update: ChannelUpdate = _new_tuple(
            ChannelUpdate,
            (channel.name, producer.id, "cleared", None, seq, self._clock(), producer.process),
        )
        channel.clear(producer, update)
        listeners = self._listeners.by_kind["cleared"]
        if listeners:
            tell(listeners, update_event(update))
        if channel.targets:
            self._deliver(channel, update)
        sink = self._link_sink
        if sink is not None and producer.process is None:
            sink(producer, "clr", None, update.timestamp)
        return update

    def _deliver(self, channel: ChannelState, update: ChannelUpdate) -> None:
        """Hand ``update`` to every subscribed consumer, and count it (channel lock held)."""
        value = update[3]
        for consumer in channel.targets:
            delivered = update
            if consumer.model is not None and value is not None:
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

    def _rejected(self, producer: ProducerState, exc: ValidationError) -> PublishValidationError:
        """Report a payload that failed validation; return the error to raise.

        A remote producer is named ``id@process`` in the error, and its event says which
        process sent the payload. Nothing in the store changes.
        """
        channel = producer.channel
        model = channel.model
        assert model is not None
        process = producer.process
        error = PublishValidationError(
            channel.name,
            producer.id if process is None else f"{producer.id}@{process}",
            producer.registered_at,
            model,
            exc.errors(include_url=False),
        )
        self._emit(
            "validation_failed",
            channel.name,
            producer.id,
            seq=self._state.last_seq,  # nothing changed: it happened after the last change
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
            seq=self._stamp(consumer.channel),
            process=update.process,
            consumer_id=consumer.id,
            consumer_serial=consumer.serial,
            where=consumer.registered_at,
            message=f"{type(exc).__name__}: {exc}",
            traceback=text,
            update=update,
        )

    def _close_producer(self, producer: ProducerState, reason: str | None = None) -> None:
        self._notice()
        with producer.channel.lock:
            closed = self._close_locked(producer, reason)
        if closed and producer.process is None:
            self._watch.forget(producer)

    def _close_locked(self, producer: ProducerState, reason: str | None) -> bool:
        """Clear and unregister ``producer`` (its channel's lock held); False if closed already.

        The caller tells the doctor's watch about a local producer, after the lock.
        """
        if producer.closed:
            return False
        channel = producer.channel
        self._clear_locked(producer)
        channel.remove_producer(producer)
        producer.handle_ref = None
        seq = self._stamp(channel)
        now = self._clock()
        sink = self._link_sink
        if sink is not None and producer.process is None:
            sink(producer, "close", None, now)
        self._emit(
            "closed",
            channel.name,
            producer.id,
            timestamp=now,
            seq=seq,
            where=producer.registered_at,
            message=reason,
            process=producer.process,
        )
        return True

    def _mark_job_failed(self, producer: ProducerState, error: str) -> None:
        channel = producer.channel
        with channel.lock:
            if producer.closed:
                return
            channel.job_failed(producer, error)
            self._emit(
                "job_failed",
                channel.name,
                producer.id,
                seq=self._stamp(channel),
                where=producer.registered_at,
                message=error,
            )
        self._watch.producer(producer)

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
        self._notice()
        state = self._state.channel(name)
        consumer = ConsumerState(
            state, consumer_id, where, model, serial=next(self._state.consumer_serials)
        )
        with state.lock:
            state.add_consumer(consumer)
            self._emit(
                "consumer_registered",
                name,
                None,
                seq=self._stamp(state),
                consumer_id=consumer_id,
                consumer_serial=consumer.serial,
                where=where,
                detail={"model": consumer.model_name},
            )
        handle: Consumer = (
            Consumer(self, consumer) if model is None else WidgetConsumer(self, consumer)
        )
        if callback is not None:
            handle.subscribe(callback)
        return handle

    def _subscribe(self, consumer: ConsumerState, fn: Callback) -> Callable[[], None]:
        if not callable(fn):
            raise TypeError(f"subscribe() needs a callable, not {fn!r}")
        channel = consumer.channel
        with channel.lock:
            if consumer.closed:
                raise ConsumerClosed(channel.name, consumer.id, consumer.registered_at)
            consumer.callbacks = (*consumer.callbacks, fn)
            channel.subscribed(consumer, 1)
            self._consumer_news("consumer_subscribed", consumer)

        def unsubscribe() -> None:
            with channel.lock:
                callbacks = list(consumer.callbacks)
                if fn in callbacks:
                    callbacks.remove(fn)
                    consumer.callbacks = tuple(callbacks)
                    channel.subscribed(consumer, -1)
                    self._consumer_news("consumer_unsubscribed", consumer)

        return unsubscribe

    def _consumer_news(self, kind: EventKind, consumer: ConsumerState) -> None:
        self._emit(
            kind,
            consumer.channel.name,
            None,
            seq=self._stamp(consumer.channel),
            consumer_id=consumer.id,
            consumer_serial=consumer.serial,
            where=consumer.registered_at,
        )

    def _close_consumer(self, consumer: ConsumerState) -> None:
        channel = consumer.channel
        with channel.lock:
            if consumer.closed:
                return
            channel.remove_consumer(consumer)
            streams = list(consumer.streams)
            self._consumer_news("consumer_closed", consumer)
        for stream in streams:
            stream.end()

    def _converted(self, consumer: ConsumerState, update: ChannelUpdate) -> ChannelUpdate | None:
        """``update`` with its value as the consumer's model, or None if it does not validate.

        A rejection is not delivered (nor counted) and is reported as a ``validation_failed``
        event naming the consumer.
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
                seq=self._stamp(consumer.channel),
                process=update.process,
                consumer_id=consumer.id,
                consumer_serial=consumer.serial,
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

    def _newest_converted(self, channel: str, model: type[M]) -> M | None:
        """The newest value that is (or validates as) ``model``: O(1) when the newest fits."""
        state = self._state.channels.get(channel)
        if state is None:
            return None
        with state.lock:
            for producer in reversed(state.holders):
                converted = self._try_convert(model, producer.value)
                if converted is not None:
                    return converted
        return None

    # -- checking without publishing -------------------------------------------------------

    def dry_run(self, channel: str | Enum, payload: Any) -> dict[str, Any]:
        """Check a payload against a channel without publishing it.

        Returns JSON-ready data: ``valid``, ``schema`` (the model's name, or None on a raw
        channel, where anything is valid), ``problems`` (field → message), ``receivers``
        (ids of the consumers whose callbacks a publish would reach) and ``exists``. A channel
        the store has never seen is not valid: nobody would receive the payload, and a typo
        in a channel name is the likelier story.
        """
        name = channel_name(channel)
        if name not in self._state.channels:
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

    # -- transports ------------------------------------------------------------------------

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
                ``path``, a file that is not a socket is there, its directory is not private,
                or another user could change a directory or symlink on the way to it).
        """
        from mapstore_core.debug import DebugServer

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
        other processes appear here with ``process`` set; see docs/redis.md, "Many processes,
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
        from mapstore_core.link import StoreLink

        if self._link is not None:
            raise LinkError(f"this store is already linked ({self._link!r}); close it first")
        link = StoreLink(
            StorePort(self, self),
            url,
            namespace=namespace,
            name=name,
            heartbeat=heartbeat,
            max_queue=max_queue,
            observer=observer,
        )
        self._link = link
        return link

    def record(self, path: str | os.PathLike[str]) -> Recording:
        """Record every change of this store from now on into ``path`` (see docs/time-travel.md).

        JSON Lines, gzip when the name ends in ``.gz``: a header that describes the file,
        then the store's state (a checkpoint), then one line per event, with a checkpoint
        every ``CHECKPOINT_EVENTS`` events so that any point rebuilds quickly
        (``open_recording``). A background thread writes; the publish path only appends to
        a queue. Use it as a context manager, or call ``close()``.

        Raises:
            RecordingError: the file cannot be created.
        """
        from mapstore_core.recording import Recording

        return Recording(TapPort(self), path)

    def flight_recorder(self, seconds: float = 60.0, max_events: int = 100_000) -> FlightRecorder:
        """Keep the last ``seconds`` (at most ``max_events`` events) of changes in memory.

        Cheap enough to leave on: a publish appends its update to a bounded deque, nothing
        more. ``dump(path)`` writes the window as a recording: the state at its start, then
        its events. ``close()`` stops it.

        Raises:
            ValueError: ``seconds`` or ``max_events`` is not positive.
        """
        from mapstore_core.recording import FlightRecorder

        return FlightRecorder(TapPort(self), seconds=seconds, max_events=max_events)

    @property
    def linked(self) -> StoreLink | None:
        """The store's link (``store.link(...)``), or None while it is not linked."""
        link = self._link
        return None if link is None or link.status == "closed" else link

    def _tell_finding(self, finding: Diagnostic) -> None:
        self._emit(
            "diagnostic",
            finding.channel,
            finding.producer_id,
            seq=self._state.last_seq,
            where=finding.where,
            message=finding.message,
            diagnostic=finding,
        )

    def __repr__(self) -> str:
        return f"<MapObjectStore channels={len(self._state.channels)} seq={self._state.last_seq}>"
