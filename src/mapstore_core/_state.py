"""A store's state and its bookkeeping, shared by the store and every mirror of it.

``StoreState`` holds one ``ChannelState`` per channel, with its producers and consumers. The
methods here book every change of them: the store calls them for its own producers and for
those of linked processes, and ``_fold`` calls the same ones for a mirror (a panel in another
process, a recording). That is why a mirror answers exactly what the store answers. What only
the store sees is counted where it happens: a delivery and a callback's error (a mirror
counts them from ``delivered`` and the ``consumer_error`` events), a link's numbers.

Handles (``Producer``, ``Consumer``) point at these states; the store holds the states, never
the handles, which is how a dropped producer handle can be noticed (it is only weakly
referenced). Every method that changes a channel runs with that channel's ``lock`` held.
"""

from __future__ import annotations

import itertools
import threading
import weakref
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from mapstore_core._doctor import ChurnTracker
from mapstore_core._records import ChannelUpdate, Diagnostic, ProcessInfo, ProducerKind

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["Callback", "ChannelState", "ConsumerState", "ProducerState", "StoreState"]

Callback = Callable[[ChannelUpdate], object]


class _Stream(Protocol):
    """An ``async for`` over a consumer (``UpdateStream``): ended when the consumer closes."""

    def end(self) -> None: ...


_serials = itertools.count(1)


class StoreState:
    """Everything a store's reads are answered from.

    ``lock`` guards the channel table, the churn record and the fleet; each channel's own lock
    guards the rest. The store lock is never taken while a channel lock is held.
    """

    __slots__ = (
        "channels",
        "churn",
        "consumer_serials",
        "diag_cache",
        "fleet_findings",
        "fleet_processes",
        "generation",
        "history_size",
        "last_seq",
        "leaks",
        "linked",
        "lock",
        "orders",
        "seqs",
    )

    def __init__(self, history_size: int, churn_threshold: int, churn_window: float) -> None:
        self.history_size = history_size
        self.lock = threading.RLock()
        self.channels: dict[str, ChannelState] = {}
        # The store draws from these; a mirror takes its numbers from the events it folds.
        self.seqs = itertools.count(1)
        self.last_seq = 0
        self.orders = itertools.count()
        self.consumer_serials = itertools.count(1)
        self.churn = ChurnTracker(churn_threshold, churn_window)
        # Bumped whenever a fact the doctor reads changes; diagnostics() reuses its last
        # result while it stays the same (a panel asks often, a store rarely changes).
        self.generation = 0
        self.diag_cache: tuple[int, list[Diagnostic]] | None = None
        # Producers whose handle the garbage collector took unclosed, not yet reported: the
        # collector's callback may run inside any lock, so it only appends here.
        self.leaks: list[ProducerState] = []
        self.linked = False
        self.fleet_processes: list[ProcessInfo] = []
        self.fleet_findings: list[Diagnostic] = []

    def channel(self, name: str) -> ChannelState:
        """The channel named ``name``, made on first use."""
        state = self.channels.get(name)
        if state is not None:
            return state
        with self.lock:
            state = self.channels.get(name)
            if state is None:
                state = self.channels[name] = ChannelState(self, name)
            return state

    def existing(self) -> list[ChannelState]:
        """Every channel, in the order the store first saw them."""
        with self.lock:
            return list(self.channels.values())

    def next_seq(self) -> int:
        """The next store-wide sequence number (the store's; call with a channel lock held)."""
        seq = self.last_seq = next(self.seqs)
        return seq

    def saw_seq(self, seq: int) -> None:
        """A mirror folded a change numbered ``seq``."""
        if seq > self.last_seq:
            self.last_seq = seq


class ChannelState:
    """A channel: its model, open producers and consumers, counters and history.

    Everything mutable here is guarded by ``lock`` (reentrant, so a callback may publish).
    """

    __slots__ = (
        "consumers",
        "first_producer_order",
        "history",
        "holders",
        "json_schema",
        "last_update",
        "lock",
        "model",
        "model_name",
        "name",
        "owner",
        "producers",
        "publish_count",
        "remote",
        "seq",
        "sites",
        "targets",
    )

    def __init__(self, owner: StoreState, name: str) -> None:
        self.owner = owner
        self.name = name
        # The model class in the store that defined it; a mirror has only its name and schema.
        self.model: type[BaseModel] | None = None
        self.model_name: str | None = None
        self.json_schema: dict[str, Any] | None = None
        self.lock = threading.RLock()
        self.producers: dict[str, ProducerState] = {}
        # Producers of linked processes, keyed "<id>@<process>", in the order first seen.
        self.remote: dict[str, ProducerState] = {}
        # Producers holding a value, oldest value first: the newest is the last key, so
        # get() is O(1) whatever the count (a publish moves its producer to the end).
        self.holders: dict[ProducerState, None] = {}
        # registered_at -> open local producers registered there (the doctor's
        # duplicate-source groups, kept up to date so a registration costs O(1)).
        self.sites: dict[str, dict[ProducerState, None]] = {}
        self.consumers: list[ConsumerState] = []
        # Consumers that have at least one callback; rebuilt on (un)subscribe so that the
        # publish path reads one tuple and copies nothing.
        self.targets: tuple[ConsumerState, ...] = ()
        self.history: deque[ChannelUpdate] = deque(maxlen=owner.history_size)
        self.publish_count = 0
        self.last_update: float | None = None
        self.first_producer_order: int | None = None
        # The seq of the last change of this channel: what a mirror's copy of it is up to.
        self.seq = 0

    # -- reading (lock held) -------------------------------------------------------------

    def latest_value(self) -> Any:
        """Return the newest value among producers that hold one."""
        holders = self.holders
        return next(reversed(holders)).value if holders else None

    def all_producers(self) -> list[ProducerState]:
        """Local producers in registration order, then remote ones."""
        return [*self.producers.values(), *self.remote.values()]

    def find(self, producer_id: str, process: str | None) -> ProducerState | None:
        """The open producer ``producer_id`` (of ``process``, or local), or None."""
        if process is None:
            return self.producers.get(producer_id)
        return self.remote.get(f"{producer_id}@{process}")

    def consumer(self, serial: int | None) -> ConsumerState | None:
        """The open consumer numbered ``serial``, or None."""
        for consumer in self.consumers:
            if consumer.serial == serial:
                return consumer
        return None

    # -- producers (lock held) -----------------------------------------------------------

    def define(self, model_name: str, json_schema: dict[str, Any] | None) -> None:
        """The channel got a model (its name, and its JSON schema when known)."""
        self.model_name = model_name
        self.json_schema = json_schema
        self.owner.generation += 1

    def add_producer(self, producer: ProducerState, order: int | None = None) -> None:
        """Register ``producer`` (its id is free here: the caller checked)."""
        if producer.process is None:
            self.producers[producer.id] = producer
            if producer.kind == "producer":  # each bridge is its own job: never duplicates
                self.sites.setdefault(producer.registered_at, {})[producer] = None
        else:
            self.remote[producer.key] = producer
        if self.first_producer_order is None:
            self.first_producer_order = next(self.owner.orders) if order is None else order
        self.owner.generation += 1

    def remove_producer(self, producer: ProducerState) -> None:
        """Unregister ``producer``; it is closed for good (its value was cleared first)."""
        producer.closed = True
        if producer.has_value:  # a mirror that missed the clear: the close implies it
            del self.holders[producer]
            producer.has_value = False
            producer.value = None
        if producer.process is not None:
            if self.remote.get(producer.key) is producer:
                del self.remote[producer.key]
        else:
            if self.producers.get(producer.id) is producer:
                del self.producers[producer.id]
            site = self.sites.get(producer.registered_at)
            if site is not None:
                site.pop(producer, None)
                if not site:
                    del self.sites[producer.registered_at]
        self.owner.generation += 1

    def publish(
        self, producer: ProducerState, update: ChannelUpdate, value: Any, seq: int, now: float
    ) -> None:
        """Book a publish: the producer's value, the counters, the history.

        ``value``, ``seq`` and ``now`` are the update's (given apart: on the publish path a
        named tuple's fields cost a lookup each). Who it was delivered to is booked where it
        is delivered (``delivered``); publishes an observer folded into it, by ``folded``.
        """
        producer.value = value
        producer.value_seq = self.seq = seq
        holders = self.holders
        if producer.has_value:
            del holders[producer]
        holders[producer] = None
        producer.has_value = True
        producer.publish_count += 1
        producer.last_publish = now
        self.publish_count += 1
        self.last_update = now
        self.history.append(update)
        if not producer.validated and producer.publish_count == 1 and self.model_name:
            self.owner.generation += 1  # the doctor's unvalidated-publish: a first raw publish

    def folded(self, producer: ProducerState, count: int) -> None:
        """Count publishes an observer skipped on purpose just before one it applied."""
        producer.publish_count += count
        self.publish_count += count

    def delivered(self) -> None:
        """Count an update as delivered to every consumer with a callback (a mirror's view).

        The store counts as it delivers, and does not count a widget consumer whose model
        refused the value; a mirror counts them all here, then takes that one back when the
        consumer's ``validation_failed`` event arrives.
        """
        for consumer in self.targets:
            consumer.delivered += 1

    def clear(self, producer: ProducerState, update: ChannelUpdate) -> None:
        """Book a clear of a producer that holds a value."""
        producer.value = None
        producer.value_seq = self.seq = update.seq
        producer.has_value = False
        del self.holders[producer]
        self.last_update = update.timestamp
        self.history.append(update)

    def gap(self, update: ChannelUpdate) -> None:
        """Book a linked producer's skipped updates (a ``gap`` marker in the history)."""
        self.seq = update.seq
        self.history.append(update)

    def leaked(self, producer: ProducerState) -> None:
        """The producer's handle was garbage-collected without ``close()``."""
        producer.leaked = True
        self.owner.generation += 1

    def job_failed(self, producer: ProducerState, error: str) -> None:
        """The producer's bridged job failed."""
        producer.job_error = error
        self.owner.generation += 1

    # -- consumers (lock held) -----------------------------------------------------------

    def add_consumer(self, consumer: ConsumerState) -> None:
        """Register ``consumer``."""
        self.consumers.append(consumer)

    def remove_consumer(self, consumer: ConsumerState) -> None:
        """Unregister ``consumer`` and drop its callbacks."""
        consumer.closed = True
        consumer.callbacks = ()
        consumer.subscribers = 0
        if consumer in self.consumers:
            self.consumers.remove(consumer)
        self.rebuild_targets()

    def subscribed(self, consumer: ConsumerState, delta: int) -> None:
        """``consumer`` gained (1) or lost (-1) a callback."""
        consumer.subscribers = max(0, consumer.subscribers + delta)
        self.rebuild_targets()

    def rebuild_targets(self) -> None:
        """Recompute ``targets``."""
        self.targets = tuple(c for c in self.consumers if c.subscribers)


class ProducerState:
    """One registered producer."""

    __slots__ = (
        "channel",
        "closed",
        "handle_ref",
        "has_value",
        "id",
        "job_error",
        "key",
        "kind",
        "last_publish",
        "leaked",
        "link_n",
        "process",
        "publish_count",
        "registered_at",
        "serial",
        "validate",
        "validated",
        "value",
        "value_seq",
        "widget",
    )

    def __init__(
        self,
        channel: ChannelState,
        producer_id: str,
        kind: ProducerKind,
        registered_at: str,
        *,
        validated: bool,
        widget: str | None,
        process: str | None = None,
    ) -> None:
        self.channel = channel
        self.id = producer_id
        # None for a local producer; the linked process's name for a remote one.
        self.process = process
        self.key = producer_id if process is None else f"{producer_id}@{process}"
        # Updates of this (local) producer handed to a link so far: the link numbers them.
        self.link_n = 0
        # Unique in the process, unlike the id: a link's bookkeeping names producers by it
        # (an int, so what it queues stays untracked by the garbage collector).
        self.serial = next(_serials)
        self.kind: ProducerKind = kind
        self.registered_at = registered_at
        self.validated = validated
        # The model's core validator, bound once: the publish path calls it directly
        # (model_validate adds ~0.5 µs of Python around the same call). Only a local,
        # validated producer has one.
        self.validate: Callable[[Any], Any] | None = None
        if validated and process is None and channel.model is not None:
            self.validate = channel.model.__pydantic_validator__.validate_python
        self.widget = widget
        self.value: Any = None
        self.has_value = False
        self.value_seq = 0
        self.publish_count = 0
        self.last_publish: float | None = None
        self.closed = False
        self.leaked = False
        self.job_error: str | None = None
        self.handle_ref: weakref.ref[Any] | None = None

    @property
    def channel_name(self) -> str:
        """The name of its channel."""
        return self.channel.name


class ConsumerState:
    """One registered consumer and its callbacks."""

    __slots__ = (
        "callbacks",
        "channel",
        "closed",
        "delivered",
        "errors",
        "id",
        "model",
        "model_name",
        "registered_at",
        "serial",
        "streams",
        "subscribers",
    )

    def __init__(
        self,
        channel: ChannelState,
        consumer_id: str,
        registered_at: str,
        model: type[BaseModel] | None,
        *,
        serial: int,
        model_name: str | None = None,
    ) -> None:
        self.channel = channel
        self.id = consumer_id
        self.serial = serial
        self.registered_at = registered_at
        self.model = model
        self.model_name = model.__name__ if model is not None else model_name
        self.callbacks: tuple[Callback, ...] = ()
        self.subscribers = 0
        self.delivered = 0
        self.errors = 0
        self.closed = False
        self.streams: weakref.WeakSet[_Stream] = weakref.WeakSet()
