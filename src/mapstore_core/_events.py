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
``marker``             ``message``: a recording's label (``Recording.mark``); changes no state
``gap``                ``message``; ``detail`` ``{"dropped": n}``: a recording left n events
                       out (its writer fell behind); a checkpoint follows it in the file
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
    "compact_update_json",
    "diagnostic_from_json",
    "event_from_json",
    "event_stub",
    "event_to_json",
    "tell",
    "update_event",
    "update_from_json",
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
    "marker",
    "gap",
]
EVENT_KINDS: frozenset[str] = frozenset(get_args(EventKind))
STATE_KINDS: frozenset[str] = EVENT_KINDS - {"diagnostic", "link_status", "marker", "gap"}
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

_UPDATE_FIELDS: tuple[str, ...] = ChannelUpdate._fields
_EVENT_DEFAULTS: dict[str, Any] = StoreEvent._field_defaults
_TAIL = EVENT_FIELDS.index("consumer_id")
_NO_TAIL: tuple[None, ...] = (None,) * (len(EVENT_FIELDS) - _TAIL)


def _update_to_json(
    update: ChannelUpdate, compact: bool, event: tuple[Any, ...] = ()
) -> dict[str, Any]:
    """An update as JSON data; ``compact``: without what its event already says, nor Nones."""
    channel, producer_id, kind, value, seq, timestamp, process = update
    if not compact:
        return {
            "channel": channel,
            "producer_id": producer_id,
            "kind": kind,
            "value": jsonable(value),
            "seq": seq,
            "timestamp": timestamp,
            "process": process,
        }
    data: dict[str, Any] = {}
    for name, mine, said in zip(  # noqa: B905 (both are (kind, channel, ...) of one length)
        _SHARED, (kind, channel, producer_id, timestamp, seq, process), event or _NOTHING_SAID
    ):
        if mine != said or type(mine) is not type(said):
            data[name] = mine
    if value is not None:
        data["value"] = jsonable(value)
    return data


_SHARED = ("kind", "channel", "producer_id", "timestamp", "seq", "process")
"""An update's fields that its event has too (its compact form leaves out equal ones)."""
_NOTHING_SAID: tuple[object, ...] = (object(),) * len(_SHARED)


def compact_update_json(
    kind: str, channel: str, producer_id: str, value: Any, timestamp: float
) -> dict[str, Any]:
    """``event_to_json(update_event(ChannelUpdate(...)), compact=True)`` without building them.

    The Redis link's publish path (once per update): a local publish or clear with no seq
    and no process. A test checks it equals the general form.
    """
    return {
        "kind": kind,
        "channel": channel,
        "producer_id": producer_id,
        "timestamp": timestamp,
        "update": {} if value is None else {"value": jsonable(value)},
    }


def event_to_json(event: StoreEvent, *, compact: bool = False) -> dict[str, Any]:
    """The event as JSON data: exactly its fields, by name (values as JSON data).

    ``compact`` leaves out every field that holds None (and a ``seq`` of 0), and in the
    update what the event already says (its kind, channel, producer, time, seq, process):
    ``event_from_json`` reads a missing field back as that, so nothing is lost. For
    transports that carry many events (the Redis link: once per update).
    """
    fields: tuple[Any, ...] = event
    if compact:
        if fields[_TAIL:] == _NO_TAIL and None not in fields[:4]:
            # the shape of most events (a publish's, a clear's): its few fields by hand
            kind, channel, producer_id, timestamp, seq, update, process = fields[:_TAIL]
            data = {
                "kind": kind,
                "channel": channel,
                "producer_id": producer_id,
                "timestamp": timestamp,
            }
            if seq:
                data["seq"] = seq
            if update is not None:
                data["update"] = _update_to_json(update, True, (*fields[:4], seq, process))
            if process is not None:
                data["process"] = process
            return data
        data = {name: value for name, value in zip(EVENT_FIELDS, fields) if value is not None}  # noqa: B905
        if not event.seq:
            del data["seq"]
    else:
        data = dict(zip(EVENT_FIELDS, fields))  # noqa: B905 (a named tuple: same length)
    update, diagnostic, detail = event.update, event.diagnostic, event.detail
    if update is not None:
        said = (event.kind, event.channel, event.producer_id, event.timestamp, event.seq)
        data["update"] = _update_to_json(update, compact, (*said, event.process))
    if diagnostic is not None:
        data["diagnostic"] = diagnostic.to_dict()
    if detail is not None:
        data["detail"] = jsonable(detail)
    return data


# -- from JSON ---------------------------------------------------------------------------
#
# Checked field by field, but only the fields present (a compact event has a few): this runs
# once per event a link or a debug client receives, so it avoids a call per field.

_MAX_TEXT = 1 << 20
_UPDATE_KINDS = frozenset({"published", "cleared", "gap"})
_DIAGNOSTIC_FIELDS = tuple(Diagnostic.__dataclass_fields__)
_TEXT_FIELDS = frozenset(
    {"channel", "producer_id", "process", "consumer_id", "where", "message", "traceback"}
)
_COUNT_FIELDS = frozenset({"seq", "consumer_serial"})
_BLANK: tuple[Any, ...] = tuple(_EVENT_DEFAULTS.get(name) for name in EVENT_FIELDS)
_KIND, _TIMESTAMP = EVENT_FIELDS.index("kind"), EVENT_FIELDS.index("timestamp")
_UPDATE, _PROCESS = EVENT_FIELDS.index("update"), EVENT_FIELDS.index("process")
_NO_TAIL_1: tuple[None, ...] = (None,) * (len(EVENT_FIELDS) - _UPDATE - 1)
"""A compact publish's fields after its update: all None (its process too)."""


def _fail(what: str) -> EventFormatError:
    return EventFormatError(f"not a store event: {what}")


def _text(data: Any, name: str, *, optional: bool = True) -> str | None:
    value = data.get(name)
    if value is None:
        if optional:
            return None
        raise _fail(f"{name!r} is missing")
    return _checked_text(name, value)


def _checked_text(name: str, value: Any) -> str:
    if type(value) is not str:
        raise _fail(f"{name!r} must be a string, not {type(value).__name__}")
    if len(value) > _MAX_TEXT:
        raise _fail(f"{name!r} is over {_MAX_TEXT:,} characters")
    return value


def _required_text(name: str, value: Any) -> str:
    if value is None:
        raise _fail(f"{name!r} is missing")
    return _checked_text(name, value)


def _finite(name: str, value: Any) -> float:
    """A finite number as a float (an integer too big for a float is refused, not raised)."""
    kind = type(value)
    if kind is float:
        if value - value == 0.0:  # neither inf nor nan
            return float(value)
    elif kind is int:
        try:
            return float(value)
        except OverflowError:
            pass
    raise _fail(f"{name!r} must be a finite number")


def update_from_json(data: Any, said: tuple[Any, ...] = (None,) * 6) -> ChannelUpdate:
    """Check and rebuild an update; a field it leaves out is its event's, a value None.

    Raises ``EventFormatError`` naming the field that is wrong. A snapshot's history holds
    updates whole (``said`` left out); an event's update may leave out what its event says.

    ``said``: the event's kind, channel, producer id, timestamp, seq and process.
    """
    if type(data) is not dict:
        raise _fail("'update' must be an object")
    get = data.get
    kind = get("kind", said[0])
    channel, producer_id = get("channel", said[1]), get("producer_id", said[2])
    seq = get("seq", said[4])
    if type(kind) is not str or kind not in _UPDATE_KINDS:
        raise _fail(f"update kind {str(kind)[:40]!r} is unknown")
    if type(channel) is not str or len(channel) > _MAX_TEXT:
        _required_text("channel", channel)  # raises, naming the field
    if type(producer_id) is not str or len(producer_id) > _MAX_TEXT:
        _required_text("producer_id", producer_id)
    if type(seq) is not int or seq < 0:
        raise _fail("'seq' must be an integer >= 0")
    process = get("process", said[5])
    if process is not None:
        _checked_text("process", process)
    return _new_tuple(
        ChannelUpdate,
        (
            channel,
            producer_id,
            kind,
            get("value"),
            seq,
            _finite("timestamp", get("timestamp", said[3])),
            process,
        ),
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


_DECODERS: dict[str, Any] = {
    "update": None,  # after the loop: what it leaves out is its event's
    "diagnostic": diagnostic_from_json,
    "problems": _problems_from_json,
    "detail": _detail_from_json,
}


_CHECKS: dict[str, tuple[int, Any]] = {
    name: (i, str if name in _TEXT_FIELDS else int if name in _COUNT_FIELDS else _DECODERS[name])
    for i, name in enumerate(EVENT_FIELDS)
    if i not in (_KIND, _TIMESTAMP)
}
"""How each field but ``kind`` and ``timestamp`` is checked: its index, and ``str`` (text),
``int`` (a count) or the function that rebuilds it."""


def event_from_json(data: Any) -> StoreEvent:
    """Check and rebuild an event from its JSON form (values stay JSON data).

    Keys it does not know are ignored (a newer sender); a missing optional field is its
    default (so ``event_to_json(..., compact=True)`` reads back whole).

    Raises:
        EventFormatError: not an object, an unknown kind, or a field of the wrong type; the
            message names the field.
    """
    size = len(data) if type(data) is dict else 0
    if size == 5 or size == 6:  # maybe a publish or clear in compact form (with its seq)
        get = data.get
        kind, channel, producer_id = get("kind"), get("channel"), get("producer_id")
        update, timestamp = get("update"), get("timestamp")
        seq = get("seq") if size == 6 else 0  # the sixth key must be the seq
        if (
            (kind == "published" or kind == "cleared")
            and type(seq) is int
            and seq >= 0
            and type(channel) is str
            and type(producer_id) is str
            and type(update) is dict
            and type(timestamp) is float
            and len(update) <= 1
            and len(channel) <= _MAX_TEXT
            and len(producer_id) <= _MAX_TEXT
            and math.isfinite(timestamp)
        ):
            value = update.get("value")
            if (not update or "value" in update) and (value is None or kind == "published"):
                new = _new_tuple
                change = new(
                    ChannelUpdate, (channel, producer_id, kind, value, seq, timestamp, None)
                )
                return new(
                    StoreEvent, (kind, channel, producer_id, timestamp, seq, change, *_NO_TAIL_1)
                )
    return _event_from_json(data)


def _event_from_json(data: Any) -> StoreEvent:
    """The general decoder (every kind, every field)."""
    if type(data) is not dict:
        raise _fail(f"an event must be an object, not {type(data).__name__}")
    kind = data.get("kind")
    if type(kind) is not str or kind not in EVENT_KINDS:
        raise _fail(f"unknown kind {str(kind)[:40]!r}")
    values = list(_BLANK)
    values[_KIND] = kind
    values[_TIMESTAMP] = _finite("timestamp", data.get("timestamp"))
    checks = _CHECKS
    for name, value in data.items():
        if value is None:
            continue
        check = checks.get(name)
        if check is None:
            continue  # unknown (a newer sender's), or checked above
        i, how = check
        if how is str:
            if type(value) is not str or len(value) > _MAX_TEXT:
                _checked_text(name, value)  # raises, naming the field
        elif how is int:
            if type(value) is not int or value < 0:
                raise _fail(f"{name!r} must be an integer >= 0")
        elif how is not None:
            value = how(value)
        values[i] = value
    update = values[_UPDATE]
    if update is not None:
        values[_UPDATE] = update_from_json(
            update, (kind, values[1], values[2], values[_TIMESTAMP], values[4], values[_PROCESS])
        )
    return _new_tuple(StoreEvent, values)


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
