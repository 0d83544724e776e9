"""The immutable records the store hands out: updates, events, and descriptions of itself.

``ChannelUpdate`` and ``StoreEvent`` are named tuples because one is built on every publish and
a tuple is the cheapest immutable record CPython has; the descriptions are frozen dataclasses.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal, NamedTuple

__all__ = [
    "ChannelInfo",
    "ChannelUpdate",
    "ConsumerInfo",
    "Diagnostic",
    "EventKind",
    "ProducerInfo",
    "ProducerKind",
    "Rule",
    "Severity",
    "StoreEvent",
    "UpdateKind",
]

UpdateKind = Literal["published", "cleared", "gap"]
ProducerKind = Literal["producer", "bridge"]
EventKind = Literal[
    "registered",
    "published",
    "cleared",
    "closed",
    "validation_failed",
    "consumer_error",
    "diagnostic",
    "consumer_registered",
    "consumer_closed",
    "channel_defined",
    "link_status",
    "link_dropped",
]
Rule = Literal[
    "non-descriptive-id",
    "duplicate-source",
    "producer-in-widget",
    "leaked-producer",
    "registration-churn",
    "unvalidated-publish",
    "job-failed",
    "fleet-duplicate-source",
    "schema-mismatch",
    "process-gone",
    "link-dropping",
]
Severity = Literal["error", "warning", "info"]


class ChannelUpdate(NamedTuple):
    """One change of one producer's value on a channel, as consumers receive it."""

    channel: str
    """The channel name."""
    producer_id: str
    """The producer whose value changed."""
    kind: UpdateKind
    """``"published"`` or ``"cleared"``; ``"gap"`` only in ``history()``: a linked process
    skipped updates of this producer under pressure (``value`` is ``{"skipped": n}``)."""
    value: Any
    """The payload (a model instance on validated channels), or None when cleared."""
    seq: int
    """Store-wide sequence number; later updates have larger numbers."""
    timestamp: float
    """Seconds since the epoch, from the store's clock."""
    process: str | None = None
    """The linked process the producer lives in (``store.link``), or None for a local one."""


class StoreEvent(NamedTuple):
    """Something that happened in a store, for debug views (``store.subscribe_events``)."""

    kind: EventKind
    """What happened."""
    channel: str | None
    """The channel concerned, if any."""
    producer_id: str | None
    """The producer concerned, if any."""
    timestamp: float
    """Seconds since the epoch, from the store's clock."""
    consumer_id: str | None = None
    """The consumer concerned (consumer events, a widget consumer's rejection)."""
    update: ChannelUpdate | None = None
    """The update, for ``published`` and ``cleared``."""
    where: str | None = None
    """Where the producer or consumer concerned was registered."""
    message: str | None = None
    """A human-readable message (validation and consumer errors, diagnostics)."""
    traceback: str | None = None
    """The formatted traceback of a ``consumer_error``."""
    diagnostic: Diagnostic | None = None
    """The new finding, for ``diagnostic`` events."""
    problems: dict[str, str] | None = None
    """``{field path: message}`` of a ``validation_failed`` event (as the error's ``problems``)."""
    process: str | None = None
    """The linked process of a remote producer concerned (``store.link``), else None."""


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A finding of the doctor: one registration-guide rule broken by one producer."""

    rule: Rule
    """Which rule (see the README's doctor table)."""
    severity: Severity
    """How bad it is: ``error`` loses data or breaks the guide outright."""
    channel: str
    """The channel of the producer concerned."""
    producer_id: str
    """The producer concerned."""
    message: str
    """What is wrong, in plain words."""
    where: str
    """Where the producer was registered (``path:line``)."""
    hint: str = ""
    """A one-line fix."""

    @property
    def key(self) -> tuple[str, str, str]:
        """Identity of the finding across evaluations: (rule, channel, producer id)."""
        return (self.rule, self.channel, self.producer_id)

    def to_dict(self) -> dict[str, Any]:
        """Return the finding as JSON-ready data."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    """A channel as ``store.channels()`` describes it."""

    name: str
    """The channel name."""
    schema: str | None
    """The name of the channel's pydantic model, or None for a raw channel."""
    producer_count: int
    """Open producers."""
    consumer_count: int
    """Open consumers."""
    publish_count: int
    """Publishes ever made on the channel."""
    last_update: float | None
    """Timestamp of the last publish or clear, or None."""

    def to_dict(self) -> dict[str, Any]:
        """Return the description as JSON-ready data."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ProducerInfo:
    """An open producer as ``store.producers()`` describes it."""

    id: str
    """The producer id."""
    channel: str
    """Its channel."""
    kind: ProducerKind
    """``producer`` (raw or validated publisher) or ``bridge`` (job bridge)."""
    registered_at: str
    """The user's line that registered it (``path:line``)."""
    publish_count: int
    """Publishes made by this producer."""
    last_publish: float | None
    """Timestamp of its last publish, or None."""
    has_value: bool
    """Whether it currently holds a value."""
    leaked: bool
    """Whether its handle was garbage-collected without ``close()``."""
    validated: bool
    """Whether its payloads are checked against the channel's model."""
    value_seq: int | None = None
    """``seq`` of the update that set its current value (None when it holds none); the
    producer with the highest one holds the channel's current value."""
    process: str | None = None
    """The linked process it lives in (``store.link``), or None for a local producer."""

    def to_dict(self) -> dict[str, Any]:
        """Return the description as JSON-ready data."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ConsumerInfo:
    """An open consumer as ``store.consumers()`` describes it."""

    id: str
    """The consumer id."""
    channel: str
    """Its channel."""
    registered_at: str
    """The user's line that registered it (``path:line``)."""
    delivered: int
    """Updates delivered to its callbacks."""
    errors: int
    """Callback calls that raised."""
    subscribers: int
    """Callbacks currently subscribed."""
    model: str | None
    """The model its values are converted to (widget consumers), or None."""

    def to_dict(self) -> dict[str, Any]:
        """Return the description as JSON-ready data."""
        return asdict(self)
