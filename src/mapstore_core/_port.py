"""``StorePort``: the one way a transport (the Redis link) reaches into a store.

A link needs a little more than the public API: to hear every change of a local producer as
it happens (the *sink*), to apply what other processes sent, and to read a producer's newest
state when it coalesces. The port names exactly that, and nothing else; a transport never
touches the store's private members. What it reads besides (producers, consumers, schemas)
goes through the store's public reads.

What a link applies are ``StoreEvent``s with ``process`` set (``registered``, ``published``,
``cleared``, ``closed``, and ``link_dropped`` carrying a ``gap`` update): the store checks
them (a payload against its own model), numbers them on its own clock and applies them
through the same fold a mirror uses, then delivers them to its consumers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Literal, Protocol

from mapstore_core._events import EVENT_KINDS, EventKind, StoreEvent
from mapstore_core._reads import StoreReads
from mapstore_core._records import Diagnostic, ProcessInfo, ProducerKind
from mapstore_core._state import StoreState

__all__ = ["Applied", "LinkSink", "LinkedProducer", "StorePort", "TapPort"]

Applied = Literal["applied", "rejected", "unknown"]
"""What became of a remote change: applied; refused by this store's model (a
``validation_failed`` event says why); or about a producer this store does not hold."""


class LinkedProducer(Protocol):
    """A local producer as the link sees it (the sink hands these over).

    ``link_n`` is the link's own counter of the producer's changes; only the link's sink
    (under the channel's lock) and the attach (under the same lock) change it.
    """

    link_n: int

    @property
    def id(self) -> str:
        """The producer id."""
        ...

    @property
    def channel_name(self) -> str:
        """Its channel."""
        ...

    @property
    def serial(self) -> int:
        """A number unique in this process (ids repeat once closed)."""
        ...

    @property
    def kind(self) -> ProducerKind:
        """``producer`` or ``bridge``."""
        ...

    @property
    def registered_at(self) -> str:
        """Where it was registered."""
        ...

    @property
    def validated(self) -> bool:
        """Whether its payloads are checked against the channel's model."""
        ...

    @property
    def closed(self) -> bool:
        """Whether it was closed."""
        ...


LinkSink = Callable[[Any, str, Any, float], None]
"""What a store hands its link for every change of a local producer: (producer, operation
``reg`` | ``pub`` | ``clr`` | ``close``, payload, timestamp). Called under the channel's lock,
so the link sees each producer's changes in order; it must only queue, never block."""

Newest = tuple[str, Any, int, float]
"""A local producer's newest state as the link sends it: (op, payload, link_n, timestamp)."""


class _Store(Protocol):
    """The store's side of the port (``MapObjectStore`` provides it)."""

    def _attach_sink(self, sink: LinkSink) -> list[tuple[Any, int]]: ...

    def _detach_sink(self, sink: LinkSink, reason: str) -> None: ...

    def _apply_remote(self, event: StoreEvent) -> Applied: ...

    def _close_remote(self, process: str | None, reason: str) -> int: ...

    def _remote_values(self, process: str) -> list[tuple[str, str, Any]]: ...

    def _remote_processes(self) -> set[str]: ...

    def _link_news(self, kind: Literal["link_status", "link_dropped"], message: str) -> None: ...

    def _set_fleet(
        self, linked: bool, processes: list[ProcessInfo], findings: list[Diagnostic]
    ) -> None: ...

    def _newest(self, producer: Any) -> Newest | None: ...

    def _adopt(self, producer: Any, before: int) -> bool: ...

    def _renumber(self, producer: Any) -> int | None: ...

    def _shape(self) -> int: ...

    @property
    def history_size(self) -> int: ...


class StorePort:
    """A store as its link may use it: see the module docstring.

    Made by ``MapObjectStore.link()``; one per link. Thread-safe as the store is.
    """

    __slots__ = ("_sink", "_store", "reads")

    def __init__(self, store: _Store, reads: StoreReads) -> None:
        self._store = store
        self.reads = reads
        """The store's public reads (producers, consumers, channels, schemas, values)."""
        self._sink: LinkSink | None = None

    def attach(self, sink: LinkSink) -> list[tuple[LinkedProducer, int]]:
        """Start handing every local change to ``sink``; return every open local producer.

        Each comes with its ``link_n`` from before the sink was set: the sink is set first,
        so nothing published meanwhile is missed, and a producer whose number changed since
        was handed to the sink already (only a sink changes it).

        Raises:
            LinkError: the store already has a link.
        """
        current = self._store._attach_sink(sink)
        self._sink = sink
        return current

    def detach(self, reason: str) -> None:
        """Stop handing changes over, and close every remote producer (with ``reason``)."""
        if self._sink is not None:
            self._store._detach_sink(self._sink, reason)
            self._sink = None

    def apply(self, event: StoreEvent) -> Applied:
        """Apply a change another process sent (``event.process`` names it); see the module."""
        return self._store._apply_remote(event)

    def close_process(self, process: str, reason: str) -> int:
        """Close every producer of ``process`` here (a ``closed`` event with ``reason``).

        Each is closed as by its own ``close()`` (a ``cleared`` update first if it held a
        value). A channel at a time, a few milliseconds of closes per hold of its lock, with
        a pause between: publishers on other threads go on meanwhile. Returns how many.
        """
        return self._store._close_remote(process, reason)

    def values_of(self, process: str) -> list[tuple[str, str, Any]]:
        """The values ``process``'s producers hold here: (channel, producer id, JSON data).

        By channel, then in the order the producers came; each channel is read once, under
        its lock, and the copies are made outside it (paced like ``close_process``).
        """
        return self._store._remote_values(process)

    def remote_processes(self) -> set[str]:
        """The processes that have producers in this store."""
        return self._store._remote_processes()

    def news(self, kind: Literal["link_status", "link_dropped"], message: str) -> None:
        """Emit the link's own news on the store (a status change, skipped updates)."""
        self._store._link_news(kind, message)

    def fleet(self, processes: list[ProcessInfo], findings: list[Diagnostic]) -> None:
        """The namespace as the link last read it: ``store.processes()`` and fleet findings.

        A ``fleet`` event carries it to mirrors; new findings are told as ``diagnostic``
        events.
        """
        self._store._set_fleet(True, processes, findings)

    def newest(self, producer: LinkedProducer) -> Newest | None:
        """A local producer's newest state, read under its channel's lock, with its number.

        None when a change of its channel is under way (the lock is held: consumers'
        callbacks run before the sink numbers the change); ask again later. Never blocks.
        """
        return self._store._newest(producer)

    def adopt(self, producer: LinkedProducer, before: int) -> bool:
        """Take over a producer from before the link; False if it is closed.

        Under its channel's lock: one whose number is still ``before`` (untouched since the
        attach) gets a new number for its current state, so the first send carries it.
        """
        return self._store._adopt(producer, before)

    def renumber(self, producer: LinkedProducer) -> int | None:
        """A new number for a local producer's next change (its close at a goodbye).

        None when it is closed already (its own close is numbered).
        """
        return self._store._renumber(producer)

    def shape(self) -> int:
        """A number that changes whenever producers, consumers or schemas change."""
        return self._store._shape()

    @property
    def history_size(self) -> int:
        """How many past updates each channel keeps (a joiner reads that many back)."""
        return self._store.history_size


class _Tapped(Protocol):
    """The store's side of ``TapPort`` (``MapObjectStore`` provides it)."""

    _clock: Callable[[], float]
    _state: StoreState

    def _add_tape(self, append: Callable[[Any], object]) -> Callable[[], None]: ...

    def subscribe_events(
        self, fn: Callable[[StoreEvent], object], *, kinds: Iterable[EventKind] | None = None
    ) -> Callable[[], None]: ...

    def snapshot(self, channels: Iterable[str] | None = None) -> dict[str, Any]: ...

    @property
    def linked(self) -> Any: ...


_UNTAPED_KINDS: tuple[EventKind, ...] = tuple(
    sorted(k for k in EVENT_KINDS if k != "published")  # type: ignore[misc]
)


class TapPort:
    """A store as a recorder may use it: every change, as cheaply as the store can hand it.

    A recorder needs every change in order, and nothing on the publish path beyond one
    append: ``tap(append)`` hands it each local publish's ``ChannelUpdate`` as is (the store
    built it anyway) and every other change as its ``StoreEvent``, all through the one
    ``append``, in the order the changes happen. ``update_event`` turns an update into its
    event when the recorder writes it, on its own thread.
    """

    __slots__ = ("_store",)

    def __init__(self, store: _Tapped) -> None:
        self._store = store

    def tap(self, append: Callable[[Any], object]) -> Callable[[], None]:
        """Start handing every change to ``append``; returns what stops it.

        ``append`` runs on the thread that made the change, under its channel's lock: it
        must be a queue's append (``collections.deque.append``), nothing slower.
        """
        unsubscribe = self._store.subscribe_events(append, kinds=_UNTAPED_KINDS)
        remove = self._store._add_tape(append)

        def stop() -> None:
            remove()
            unsubscribe()

        return stop

    def snapshot(self) -> dict[str, Any]:
        """The store's state now (``store.snapshot()``).

        Taken after ``tap``: the changes it already holds are stale by their seq when they
        arrive through the tape.
        """
        return self._store.snapshot()

    def now(self) -> float:
        """The store's clock (a marker's time)."""
        return self._store._clock()

    def seq(self) -> int:
        """The number of the store's last change (how far it has moved)."""
        return self._store._state.last_seq

    def process(self) -> str | None:
        """The store's name in its linked namespace, if it is linked."""
        link = self._store.linked
        name = getattr(link, "name", None)
        return name if isinstance(name, str) else None
