"""The immutable records the store hands out: updates and descriptions of itself.

``ChannelUpdate`` is a named tuple because one is built on every publish and a tuple is the
cheapest immutable record CPython has; the descriptions are frozen dataclasses. The event
that describes every change (``StoreEvent``) lives with its JSON form in ``_events``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, NamedTuple

from mapstore_core._public import public

__all__ = [
    "ChannelInfo",
    "ChannelUpdate",
    "ConsumerInfo",
    "Diagnostic",
    "ProcessInfo",
    "ProducerInfo",
    "ProducerKind",
    "Rule",
    "Severity",
    "UpdateKind",
]

UpdateKind = Literal["published", "cleared", "gap"]
ProducerKind = Literal["producer", "bridge"]
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


@public
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


@public
@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A finding of the doctor: one registration-guide rule broken by one producer."""

    rule: Rule
    """Which rule (see the doctor's table, docs/doctor.md)."""
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


@public
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


@public
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
    widget: str | None = None
    """The consumer-only widget class it was registered from (the doctor's
    ``producer-in-widget``), or None."""
    job_error: str | None = None
    """Why its bridged job failed (the doctor's ``job-failed``), or None."""

    def to_dict(self) -> dict[str, Any]:
        """Return the description as JSON-ready data."""
        return asdict(self)


@public
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
    serial: int = 0
    """Its number in the store: consumer ids need not be unique, this is (events name it)."""

    def to_dict(self) -> dict[str, Any]:
        """Return the description as JSON-ready data."""
        return asdict(self)


@public
@dataclass(frozen=True, slots=True)
class ProcessInfo:
    """One process of a linked namespace, as ``store.processes()`` describes it."""

    name: str
    """How the other processes name it (``store.link(name=...)``)."""
    host: str
    """The host it runs on, as it announced."""
    pid: int | None
    """Its process id on that host."""
    program: str
    """Its program (``app.py``)."""
    started: float | None
    """When the process linked (its own clock, seconds since the epoch)."""
    heartbeat_age: float | None
    """Seconds since its last heartbeat, on Redis's clock."""
    alive: bool
    """Whether its heartbeat is current."""
    gone_since: float | None
    """When it stopped heartbeating (Redis's clock, epoch seconds), for a gone process."""
    gone_reason: str
    """Why it is gone (``missed 3 heartbeats``, ``closed its link``), else empty."""
    producers: list[tuple[str, str, str, str]]
    """Its open producers as announced: (channel, id, kind, registered_at)."""
    consumers: list[tuple[str, str]]
    """Its open consumers as announced: (channel, id)."""
    publish_rate: float | None
    """Updates per second its link sent over the last ten seconds.

    None while not known: it never sent one, or it was watched for less than ten seconds and
    sent fewer than two meanwhile (``0/s`` would be a guess).
    """
    link_drops: int
    """Updates its link skipped (coalesced) or could not send, since it started."""
    drops_last_minute: int
    """Of those, how many in the last minute."""
    schemas: dict[str, str]
    """Channel -> model fingerprint."""
    version: str
    """The mapstore version it runs."""
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Channel -> the JSON schema of its model in that process (what the fingerprint hashes)."""
    stale: list[tuple[str, str, Any]] = field(default_factory=list)
    """For a gone process: (channel, producer id, last value) of its producers, now stale."""
    me: bool = False
    """This is the process asking (its own store's link)."""

    def to_dict(self) -> dict[str, Any]:
        """The process as JSON-ready data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> ProcessInfo:
        """Rebuild a process from ``to_dict`` data (received from another process).

        Raises:
            ValueError: ``data`` is not such a description.
        """
        if not isinstance(data, dict):
            raise ValueError("a process description must be an object")
        try:
            return cls(
                name=str(data["name"]),
                host=str(data.get("host") or ""),
                pid=data.get("pid") if type(data.get("pid")) is int else None,
                program=str(data.get("program") or ""),
                started=_number(data.get("started")),
                heartbeat_age=_number(data.get("heartbeat_age")),
                alive=bool(data.get("alive")),
                gone_since=_number(data.get("gone_since")),
                gone_reason=str(data.get("gone_reason") or ""),
                producers=[
                    (str(c), str(i), str(k), str(w)) for c, i, k, w in data.get("producers") or []
                ],
                consumers=[(str(c), str(i)) for c, i in data.get("consumers") or []],
                publish_rate=_number(data.get("publish_rate")),
                link_drops=int(data.get("link_drops") or 0),
                drops_last_minute=int(data.get("drops_last_minute") or 0),
                schemas={str(k): str(v) for k, v in (data.get("schemas") or {}).items()},
                version=str(data.get("version") or ""),
                models={
                    str(k): v for k, v in (data.get("models") or {}).items() if isinstance(v, dict)
                },
                stale=[(str(c), str(i), v) for c, i, v in data.get("stale") or []],
                me=bool(data.get("me")),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"not a process description: {exc}") from exc


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None
