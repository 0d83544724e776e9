"""The store's private bookkeeping: one state object per channel, producer and consumer.

Handles (``Producer``, ``Consumer``) point at these; the store holds these, never the handles,
which is how a dropped producer handle can be noticed (it is only weakly referenced).
"""

from __future__ import annotations

import itertools
import threading
import weakref
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from mapstore_core._records import ChannelUpdate, ProducerKind

if TYPE_CHECKING:
    from mapstore_core._handles import UpdateStream

Callback = Callable[[ChannelUpdate], object]


_serials = itertools.count(1)


class ChannelState:
    """A channel: its model, open producers and consumers, counters and history.

    Everything mutable here is guarded by ``lock`` (reentrant, so a callback may publish).
    """

    __slots__ = (
        "consumers",
        "first_producer_order",
        "history",
        "holders",
        "last_update",
        "lock",
        "model",
        "name",
        "producers",
        "publish_count",
        "remote",
        "sites",
        "targets",
    )

    def __init__(self, name: str, history_size: int) -> None:
        self.name = name
        self.model: type[BaseModel] | None = None
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
        self.history: deque[ChannelUpdate] = deque(maxlen=history_size)
        self.publish_count = 0
        self.last_update: float | None = None
        self.first_producer_order: int | None = None

    def rebuild_targets(self) -> None:
        """Recompute ``targets``; call with ``lock`` held."""
        self.targets = tuple(c for c in self.consumers if c.callbacks)

    def latest_value(self) -> Any:
        """Return the newest value among producers that hold one; call with ``lock`` held."""
        holders = self.holders
        return next(reversed(holders)).value if holders else None

    def all_producers(self) -> list[ProducerState]:
        """Local producers in registration order, then remote ones; call with ``lock`` held."""
        return [*self.producers.values(), *self.remote.values()]


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
        "remote_n",
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
        # Link bookkeeping: updates this (local) producer handed to links so far, and the
        # last sender number applied for a remote one (to drop duplicates and see gaps).
        self.link_n = 0
        self.remote_n = 0
        # Unique in the process, unlike the id: a link's bookkeeping names producers by it
        # (an int, so what it queues stays untracked by the garbage collector).
        self.serial = next(_serials)
        self.kind: ProducerKind = kind
        self.registered_at = registered_at
        self.validated = validated
        # The model's core validator, bound once: the publish path calls it directly
        # (model_validate adds ~0.5 µs of Python around the same call).
        self.validate: Callable[[Any], Any] | None = None
        if validated:
            assert channel.model is not None
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
        "registered_at",
        "streams",
    )

    def __init__(
        self,
        channel: ChannelState,
        consumer_id: str,
        registered_at: str,
        model: type[BaseModel] | None,
    ) -> None:
        self.channel = channel
        self.id = consumer_id
        self.registered_at = registered_at
        self.model = model
        self.callbacks: tuple[Callback, ...] = ()
        self.delivered = 0
        self.errors = 0
        self.closed = False
        self.streams: weakref.WeakSet[UpdateStream] = weakref.WeakSet()
