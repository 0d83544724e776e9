"""The handles users hold: ``Producer``, ``Consumer`` and their validated widget variants."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Protocol, Self, TypeVar

from pydantic import BaseModel

from mapstore_core._public import public
from mapstore_core._records import ChannelUpdate, ProducerKind
from mapstore_core._state import ConsumerState, ProducerState

if TYPE_CHECKING:
    import asyncio

__all__ = ["Consumer", "Producer", "UpdateStream", "WidgetConsumer", "WidgetPublisher"]

M = TypeVar("M", bound=BaseModel)


class _Store(Protocol):
    """What a handle asks of its store (``MapObjectStore`` provides it)."""

    def _publish(self, producer: ProducerState, payload: Any) -> ChannelUpdate: ...

    def _clear(self, producer: ProducerState) -> ChannelUpdate | None: ...

    def _close_producer(self, producer: ProducerState, reason: str | None = None) -> None: ...

    def _subscribe(
        self, consumer: ConsumerState, fn: Callable[[ChannelUpdate], object]
    ) -> Callable[[], None]: ...

    def _close_consumer(self, consumer: ConsumerState) -> None: ...

    def _newest_converted(self, channel: str, model: type[M]) -> M | None: ...

    def _try_convert(self, model: type[M], payload: Any) -> M | None: ...

    def get(self, channel: str) -> Any: ...

    def values(self, channel: str) -> dict[str, Any]: ...


@public
class Producer:
    """A data source's handle on one channel: it publishes, clears and finally closes.

    Get one from ``store.register_producer()`` (raw, the legacy path) or
    ``create_widget_publisher()`` (validated). Close it when its owner goes away — or use it
    as a context manager. A producer dropped without ``close()`` keeps its value in the store
    and is reported by the doctor as ``leaked-producer``.
    """

    __slots__ = ("__weakref__", "_state", "_store")

    def __init__(self, store: _Store, state: ProducerState) -> None:
        self._store = store
        self._state = state

    @property
    def id(self) -> str:
        """The producer id (descriptive: ``market-data-service``)."""
        return self._state.id

    @property
    def channel(self) -> str:
        """The channel this producer publishes on."""
        return self._state.channel.name

    @property
    def registered_at(self) -> str:
        """``path:line`` of the user code that registered it."""
        return self._state.registered_at

    @property
    def kind(self) -> ProducerKind:
        """``producer`` or ``bridge``."""
        return self._state.kind

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._state.closed

    def publish(self, payload: Any) -> ChannelUpdate:
        """Store ``payload`` as this producer's value and deliver it to the channel's consumers.

        Contract:

        - Any thread may publish. Callbacks run synchronously, in the publishing thread,
          before ``publish`` returns; updates on one channel (so from one producer) reach
          each consumer in ``seq`` order, and none is lost.
        - A consumer callback that raises does not stop delivery to the others, nor this
          call: the store counts the error on that consumer, logs it on the
          ``mapstore_core`` logger and emits a ``consumer_error`` event with the traceback.
        - Raw producers store the payload as given. Validated ones (widget publishers, job
          bridges) check it first and raise ``PublishValidationError`` without changing
          anything in the store.

        Returns:
            The ``ChannelUpdate`` that was delivered.

        Raises:
            ProducerClosed: the producer was closed.
            PublishValidationError: a validated producer got a payload that does not fit.
        """
        return self._store._publish(self._state, payload)

    def clear(self) -> ChannelUpdate | None:
        """Remove this producer's value; it stays registered.

        Consumers get a ``cleared`` update (and fall back to other producers' values).
        Clearing a producer that holds no value does nothing and returns None.

        Raises:
            ProducerClosed: the producer was closed.
        """
        return self._store._clear(self._state)

    def close(self) -> None:
        """Clear and unregister; the id may be registered again afterwards. Idempotent."""
        self._store._close_producer(self._state)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return (
            f"<{type(self).__name__} {self.id!r} on {self.channel!r} "
            f"({state}, registered at {self.registered_at})>"
        )


@public
class WidgetPublisher(Producer, Generic[M]):
    """A producer whose payloads are validated against the channel's pydantic model.

    ``publish`` accepts a model instance or anything the model validates (a dict); an invalid
    payload raises ``PublishValidationError`` naming the channel, the producer and each
    failing field, emits a ``validation_failed`` event, and leaves the store untouched.
    """

    __slots__ = ()

    @property
    def model(self) -> type[M]:
        """The channel's model."""
        model = self._state.channel.model
        assert model is not None  # a validated producer exists only on a defined channel
        return model  # type: ignore[return-value]


@public
class Consumer:
    """A reader of one channel: current values, callbacks, or ``async for``.

    The store holds a consumer and its callbacks until ``close()``: dropping the handle does
    not unsubscribe.
    """

    __slots__ = ("__weakref__", "_state", "_store")

    def __init__(self, store: _Store, state: ConsumerState) -> None:
        self._store = store
        self._state = state

    @property
    def id(self) -> str:
        """The consumer id."""
        return self._state.id

    @property
    def channel(self) -> str:
        """The channel it reads."""
        return self._state.channel.name

    @property
    def registered_at(self) -> str:
        """``path:line`` of the user code that registered it."""
        return self._state.registered_at

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._state.closed

    @property
    def value(self) -> Any:
        """The most recent value among the producers that hold one, or None."""
        return self._store.get(self.channel)

    @property
    def values(self) -> dict[str, Any]:
        """``{producer_id: payload}`` of producers holding a value, in registration order."""
        return self._store.values(self.channel)

    def subscribe(self, fn: Callable[[ChannelUpdate], object]) -> Callable[[], None]:
        """Call ``fn(update)`` on every publish and clear on the channel.

        ``fn`` runs in the publishing thread (see ``Producer.publish``). Returns a function
        that unsubscribes ``fn``; calling it twice is harmless.
        """
        return self._store._subscribe(self._state, fn)

    def close(self) -> None:
        """Unsubscribe every callback, end ``async for`` loops and unregister. Idempotent."""
        self._store._close_consumer(self._state)

    def __aiter__(self) -> UpdateStream:
        """Iterate updates asynchronously; safe when publishes come from other threads."""
        return UpdateStream(self)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id!r} on {self.channel!r}>"


@public
class WidgetConsumer(Consumer, Generic[M]):
    """A consumer whose values are instances of the channel's model.

    Raw (unvalidated) values are converted; one that does not validate is not delivered to
    this consumer and a ``validation_failed`` event names it.
    """

    __slots__ = ()

    @property
    def model(self) -> type[M]:
        """The model values are converted to."""
        model = self._state.model
        assert model is not None
        return model  # type: ignore[return-value]

    @property
    def value(self) -> M | None:
        """The newest value that is (or validates as) the model, or None."""
        return self._store._newest_converted(self.channel, self.model)

    @property
    def values(self) -> dict[str, M]:
        """``{producer_id: model}`` of producers holding a value that validates."""
        out: dict[str, M] = {}
        for producer_id, payload in self._store.values(self.channel).items():
            converted = self._store._try_convert(self.model, payload)
            if converted is not None:
                out[producer_id] = converted
        return out


_END = object()


@public
class UpdateStream:
    """The async iterator behind ``async for update in consumer``.

    It subscribes when created and hands each update to the event loop it was created on
    with ``call_soon_threadsafe``, so publishers on any thread are fine. It ends when the
    consumer closes; ``aclose()`` ends it early.
    """

    def __init__(self, consumer: Consumer) -> None:
        import asyncio  # here, not at the top: ``import mapstore_core`` loads no asyncio

        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._done = False
        self._exhausted = False
        self._unsubscribe: Callable[[], None] = lambda: None
        if consumer.closed:
            self.end()
            return
        self._unsubscribe = consumer.subscribe(self._push)
        consumer._state.streams.add(self)

    def _push(self, update: ChannelUpdate) -> None:
        if self._loop.is_closed():
            self._unsubscribe()
            return
        self._loop.call_soon_threadsafe(self._queue.put_nowait, update)

    def end(self) -> None:
        """Stop the iteration after the updates already queued."""
        if self._done:
            return
        self._done = True
        self._unsubscribe()
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._queue.put_nowait, _END)

    def __aiter__(self) -> UpdateStream:
        return self

    async def __anext__(self) -> ChannelUpdate:
        if self._exhausted:
            raise StopAsyncIteration
        item = await self._queue.get()
        if item is _END:
            self._exhausted = True
            raise StopAsyncIteration
        update: ChannelUpdate = item
        return update

    async def aclose(self) -> None:
        """Unsubscribe and end the iteration."""
        self.end()
