"""``StoreEvent``: every change of a store is one event, and this is its one JSON form.

An event is lossless: a mirror that starts from a snapshot and folds the events that follow
(``_fold``) answers every read exactly as the store does. Its JSON form is derived here, from
the record's own fields, and nowhere else: ``event_to_json`` writes every field under its
name, ``event_from_json`` checks and rebuilds one (anything that crossed a process boundary
may be hostile). The debug endpoint, the Redis link and recordings carry events only in this
form, inside their own versioned envelopes; ``EVENT_FORMAT`` is the version of the form.

What each kind carries beyond ``kind``, ``channel``, ``producer_id``, ``timestamp`` and
``seq`` (the store-wide order of the change; a publish's or clear's is its update's):

=====================  ====================================================================
``registered``         ``where``, ``process``; ``detail``: ``kind``, ``validated``, ``widget``
``published``          ``update``; ``detail`` ``{"folded": n}`` when it stands for n more
``cleared``            ``update`` (value None)
``closed``             ``where``, ``message`` (the reason, if any)
``validation_failed``  ``message``, ``problems``, ``where``; ``consumer_id`` and
                       ``consumer_serial`` when a widget consumer skipped the value
``consumer_error``     ``consumer_id``, ``consumer_serial``, ``update``, ``traceback``
``leaked``             ``where``: the producer's handle was garbage-collected unclosed
``job_failed``         ``message``: why the bridged job failed
``consumer_registered``  ``consumer_id``, ``consumer_serial``, ``where``; ``detail.model``
``consumer_closed``    ``consumer_id``, ``consumer_serial``
``consumer_subscribed`` / ``consumer_unsubscribed``  ``consumer_id``, ``consumer_serial``
``channel_defined``    ``detail``: ``model`` (its name), ``schema`` (its JSON schema)
``diagnostic``         ``diagnostic`` (a new finding of the doctor); changes no state
``link_status``        ``message``; changes no state
``link_dropped``       ``message``; ``update`` when a linked producer skipped updates (a
                       ``gap`` in the history, value ``{"skipped": n}``)
``fleet``              ``detail``: ``processes`` and ``findings`` of a linked namespace
=====================  ====================================================================
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any, Literal, NamedTuple, get_args

from mapstore_core._errors import EventFormatError
from mapstore_core._jsonable import jsonable
from mapstore_core._public import public
from mapstore_core._records import ChannelUpdate, Diagnostic

__all__ = [
    "EVENT_FIELDS",
    "EVENT_FORMAT",
    "EVENT_KINDS",
    "STATE_KINDS",
    "EventKind",
    "StoreEvent",
    "diagnostic_from_json",
    "event_from_json",
    "event_stub",
    "event_to_json",
    "tell",
    "update_event",
]

logger = logging.getLogger("mapstore_core")

EVENT_FORMAT = 1
"""The version of the JSON form of events (and of snapshots' shape for mirrors)."""

EventKind = Literal[
    "registered",
    "published",
    "cleared",
    "closed",
    "validation_failed",
    "consumer_error",
    "leaked",
    "job_failed",
    "diagnostic",
    "consumer_registered",
    "consumer_closed",
    "consumer_subscribed",
    "consumer_unsubscribed",
    "channel_defined",
    "link_status",
    "link_dropped",
    "fleet",
]
EVENT_KINDS: frozenset[str] = frozenset(get_args(EventKind))
STATE_KINDS: frozenset[str] = EVENT_KINDS - {"diagnostic", "link_status"}
"""Kinds that change what a store's reads answer (the others only tell)."""


@public
class StoreEvent(NamedTuple):
    """Something that changed in a store (``store.subscribe_events``); see the module table."""

    kind: EventKind
    """What happened."""
    channel: str | None
    """The channel concerned, if any."""
    producer_id: str | None
    """The producer concerned, if any."""
    timestamp: float
    """Seconds since the epoch, from the store's clock."""
    seq: int = 0
    """The store-wide order of the change (a publish's or clear's is its update's ``seq``)."""
    update: ChannelUpdate | None = None
    """The update, for ``published``, ``cleared``, ``consumer_error`` and a link's gap."""
    process: str | None = None
    """The linked process of a remote producer concerned (``store.link``), else None."""
    consumer_id: str | None = None
    """The consumer concerned (consumer events, a widget consumer's rejection)."""
    consumer_serial: int | None = None
    """That consumer's number in its store (ids need not be unique; this is)."""
    where: str | None = None
    """Where the producer or consumer concerned was registered."""
    message: str | None = None
    """A human-readable message (errors, a close's reason, a job's failure, link news)."""
    traceback: str | None = None
    """The formatted traceback of a ``consumer_error``."""
    diagnostic: Diagnostic | None = None
    """The new finding, for ``diagnostic`` events."""
    problems: dict[str, str] | None = None
    """``{field path: message}`` of a ``validation_failed`` event (as the error's ``problems``)."""
    detail: dict[str, Any] | None = None
    """What else the kind carries (see the module table), as JSON data."""

    def to_json(self) -> dict[str, Any]:
        """The event's JSON form: exactly its fields, by name (values as JSON data)."""
        return event_to_json(self)

    @classmethod
    def from_json(cls, data: Any) -> StoreEvent:
        """Check and rebuild an event from its JSON form (perhaps from another process).

        Raises:
            EventFormatError: not an event, naming the field that is wrong.
        """
        return event_from_json(data)


EVENT_FIELDS: tuple[str, ...] = StoreEvent._fields
_AFTER_PROCESS: tuple[None, ...] = (None,) * (len(EVENT_FIELDS) - EVENT_FIELDS.index("process") - 1)
_new_tuple = tuple.__new__


def update_event(update: ChannelUpdate) -> StoreEvent:
    """The event of a publish or clear: built on every publish while someone listens.

    ``tuple.__new__`` over the fields in order (half the cost of the keyword constructor);
    a test checks it equals ``StoreEvent(kind=..., ...)``.
    """
    return _new_tuple(
        StoreEvent,
        (
            update.kind,
            update.channel,
            update.producer_id,
            update.timestamp,
            update.seq,
            update,
            update.process,
            *_AFTER_PROCESS,
        ),
    )


def tell(listeners: tuple[Callable[[StoreEvent], object], ...], event: StoreEvent) -> None:
    """Call each listener with ``event``; one that raises is logged and the others still run."""
    for fn in listeners:
        try:
            fn(event)
        except Exception:
            logger.exception("event listener %r failed on %r", fn, event.kind)


# -- to JSON -----------------------------------------------------------------------------


def _update_to_json(update: ChannelUpdate) -> dict[str, Any]:
    data = update._asdict()
    data["value"] = jsonable(update.value)
    return data


_ENCODERS: dict[str, Any] = {
    "update": _update_to_json,
    "diagnostic": Diagnostic.to_dict,
    "detail": jsonable,
}


def event_to_json(event: StoreEvent) -> dict[str, Any]:
    """The event as JSON data: exactly its fields, by name (values as JSON data)."""
    data = dict(zip(EVENT_FIELDS, event, strict=True))
    for name, encode in _ENCODERS.items():
        value = data[name]
        if value is not None:
            data[name] = encode(value)
    return data


# -- from JSON ---------------------------------------------------------------------------

_TEXT = (str,)
_MAX_TEXT = 1 << 20
_UPDATE_KINDS = frozenset({"published", "cleared", "gap"})
_DIAGNOSTIC_FIELDS = tuple(Diagnostic.__dataclass_fields__)


def _fail(what: str) -> EventFormatError:
    return EventFormatError(f"not a store event: {what}")


def _text(data: Any, name: str, *, optional: bool = True) -> str | None:
    value = data.get(name)
    if value is None:
        if optional:
            return None
        raise _fail(f"{name!r} is missing")
    if type(value) is not str:
        raise _fail(f"{name!r} must be a string, not {type(value).__name__}")
    if len(value) > _MAX_TEXT:
        raise _fail(f"{name!r} is over {_MAX_TEXT:,} characters")
    return value


def _number(data: Any, name: str) -> float:
    value = data.get(name)
    if type(value) not in (int, float) or not math.isfinite(value):
        raise _fail(f"{name!r} must be a finite number")
    return float(value)


def _count(data: Any, name: str, *, optional: bool = False) -> int | None:
    value = data.get(name)
    if value is None and optional:
        return None
    if type(value) is not int or value < 0:
        raise _fail(f"{name!r} must be an integer >= 0")
    return int(value)


def _update_from_json(data: Any) -> ChannelUpdate:
    if type(data) is not dict:
        raise _fail("'update' must be an object")
    kind = data.get("kind")
    if kind not in _UPDATE_KINDS:
        raise _fail(f"update kind {str(kind)[:40]!r} is unknown")
    return ChannelUpdate(
        _text(data, "channel", optional=False),  # type: ignore[arg-type]
        _text(data, "producer_id", optional=False),  # type: ignore[arg-type]
        kind,
        data.get("value"),
        _count(data, "seq"),  # type: ignore[arg-type]
        _number(data, "timestamp"),
        _text(data, "process"),
    )


def diagnostic_from_json(data: Any) -> Diagnostic:
    """Check and rebuild a ``Diagnostic`` from its JSON form.

    Raises:
        EventFormatError: not an object of ``Diagnostic``'s fields, all strings.
    """
    if type(data) is not dict:
        raise _fail("'diagnostic' must be an object")
    texts = [_text(data, name, optional=name == "hint") or "" for name in _DIAGNOSTIC_FIELDS]
    return Diagnostic(*texts)  # type: ignore[arg-type]


def _problems_from_json(data: Any) -> dict[str, str]:
    if type(data) is not dict or not all(
        type(k) is str and type(v) is str for k, v in data.items()
    ):
        raise _fail("'problems' must map field paths to messages")
    return data


def _detail_from_json(data: Any) -> dict[str, Any]:
    if type(data) is not dict:
        raise _fail("'detail' must be an object")
    return data


def event_from_json(data: Any) -> StoreEvent:
    """Check and rebuild an event from its JSON form (values stay JSON data).

    Keys it does not know are ignored (a newer sender); a missing optional field is its
    default.

    Raises:
        EventFormatError: not an object, an unknown kind, or a field of the wrong type; the
            message names the field.
    """
    if type(data) is not dict:
        raise _fail(f"an event must be an object, not {type(data).__name__}")
    kind = data.get("kind")
    if kind not in EVENT_KINDS:
        raise _fail(f"unknown kind {str(kind)[:40]!r}")
    get = data.get
    update = get("update")
    diagnostic = get("diagnostic")
    problems = get("problems")
    detail = get("detail")
    return StoreEvent(
        kind=kind,
        channel=_text(data, "channel"),
        producer_id=_text(data, "producer_id"),
        timestamp=_number(data, "timestamp"),
        seq=_count(data, "seq", optional=True) or 0,
        update=None if update is None else _update_from_json(update),
        process=_text(data, "process"),
        consumer_id=_text(data, "consumer_id"),
        consumer_serial=_count(data, "consumer_serial", optional=True),
        where=_text(data, "where"),
        message=_text(data, "message"),
        traceback=_text(data, "traceback"),
        diagnostic=None if diagnostic is None else diagnostic_from_json(diagnostic),
        problems=None if problems is None else _problems_from_json(problems),
        detail=None if detail is None else _detail_from_json(detail),
    )


def event_stub(event: StoreEvent, note: str) -> StoreEvent:
    """The event without its payloads (traceback, problems, detail), ``note`` its message.

    For an event too large (or too odd) to send whole: it keeps what identifies the change,
    so a mirror stays in step, and an update's value becomes the text ``<left out: note>``
    (never None, which would read as "cleared").
    """
    update = event.update
    if update is not None and update.value is not None:
        update = update._replace(value=f"<left out: {note}>")
    return event._replace(
        update=update,
        message=note,
        traceback=None,
        problems=None,
        detail=None,
        diagnostic=None,
    )
