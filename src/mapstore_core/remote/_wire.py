r"""The debug endpoint's wire format: newline-delimited JSON objects, nothing else.

Every message is one JSON object on one line, at most ``MAX_MESSAGE_BYTES`` long, with a
``type``. JSON only: nothing received is ever unpickled or evaluated. The README's "Wire
format" section lists the message kinds and their fields.

Whatever the store holds can be sent: a lone surrogate (which UTF-8 cannot carry) is sent as
the visible text ``\udXXX``; an event over the limit becomes a stub that names its size
(``event_stub``); an answer over the limit is sent in parts (``answer_parts``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any, get_args

from mapstore_core._errors import DebugProtocolError
from mapstore_core._jsonable import MAX_INT_DIGITS, jsonable
from mapstore_core._records import ChannelUpdate, EventKind, StoreEvent

__all__ = [
    "MAX_ANSWER_BYTES",
    "MAX_MESSAGE_BYTES",
    "PART_CHARS",
    "PROTOCOL",
    "VERSION",
    "answer_parts",
    "decode",
    "encode",
    "event_from_dict",
    "event_stub",
    "event_to_dict",
    "loads",
]

PROTOCOL = "mapstore-debug"
VERSION = 1
MAX_MESSAGE_BYTES = 1_048_576
MAX_ANSWER_BYTES = 64 * MAX_MESSAGE_BYTES
"""An answer up to this size is sent in parts; a larger one is refused (the connection stays)."""
PART_CHARS = 200_000
"""Characters of an answer per part: at most 4 UTF-8 bytes each, escapes included."""
MAX_NUMBER_DIGITS = MAX_INT_DIGITS  # jsonable() sends longer integers as text
_SURROGATE = re.compile("[\ud800-\udfff]")


def _no_constants(name: str) -> Any:
    raise DebugProtocolError(f"{name} is not valid JSON")


def _bounded_int(text: str) -> int:
    if len(text) > MAX_NUMBER_DIGITS:
        raise DebugProtocolError(f"a number of {len(text):,} digits is not accepted")
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if len(text) > MAX_NUMBER_DIGITS or not math.isfinite(value):
        raise DebugProtocolError(f"the number {text[:20]}… is not accepted")
    return value


def _escape_surrogate(match: re.Match[str]) -> str:
    return f"\\\\u{ord(match.group()):04x}"


def dumps(data: Any) -> str:
    r"""JSON text that UTF-8 can carry: lone surrogates become the visible text ``\udXXX``.

    Raises:
        DebugProtocolError: ``data`` is not JSON data.
    """
    try:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise DebugProtocolError(f"message is not JSON data: {exc}") from exc
    # Surrogates only ever appear inside JSON strings, where an escaped backslash is valid.
    return _SURROGATE.sub(_escape_surrogate, text)


def encode(message: dict[str, Any]) -> bytes:
    """One message as a line of UTF-8 JSON.

    Raises:
        DebugProtocolError: the message is not JSON data or is over ``MAX_MESSAGE_BYTES``.
    """
    line = dumps(message).encode("utf-8") + b"\n"
    if len(line) > MAX_MESSAGE_BYTES:
        raise DebugProtocolError(
            f"message of {len(line):,} bytes is over the {MAX_MESSAGE_BYTES:,}-byte limit"
        )
    return line


def loads(text: str) -> Any:
    """Parse JSON text received from the other side: no NaN, no huge numbers.

    Raises:
        DebugProtocolError: not JSON, nested too deeply, or a number too long to accept.
    """
    try:
        return json.loads(
            text, parse_constant=_no_constants, parse_int=_bounded_int, parse_float=_finite_float
        )
    except json.JSONDecodeError as exc:
        raise DebugProtocolError(f"message is not JSON: {exc.msg} at {exc.pos}") from exc
    except RecursionError as exc:
        raise DebugProtocolError("message is nested too deeply") from exc
    except ValueError as exc:  # a float literal too long to convert, among others
        raise DebugProtocolError(f"message is not acceptable JSON: {exc}") from exc


def decode(line: bytes) -> dict[str, Any]:
    """Parse one received line; refuse anything but a JSON object with a string ``type``.

    Raises:
        DebugProtocolError: oversized, not UTF-8, not JSON, not an object, or no ``type``.
    """
    if len(line) > MAX_MESSAGE_BYTES:
        raise DebugProtocolError(f"message over the {MAX_MESSAGE_BYTES:,}-byte limit")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DebugProtocolError("message is not UTF-8") from exc
    message = loads(text)
    if not isinstance(message, dict):
        raise DebugProtocolError(f"message must be a JSON object, not {type(message).__name__}")
    if not isinstance(message.get("type"), str):
        raise DebugProtocolError("message has no string 'type'")
    return message


def event_to_dict(event: StoreEvent) -> dict[str, Any]:
    """A store event as JSON data (the update's value included)."""
    data: dict[str, Any] = {
        "kind": event.kind,
        "channel": event.channel,
        "producer_id": event.producer_id,
        "timestamp": event.timestamp,
        "consumer_id": event.consumer_id,
        "where": event.where,
        "message": event.message,
        "traceback": event.traceback,
        "update": None,
        "diagnostic": None,
        "problems": event.problems,
    }
    if event.update is not None:
        data["update"] = {**event.update._asdict(), "value": jsonable(event.update.value)}
    if event.diagnostic is not None:
        data["diagnostic"] = event.diagnostic.to_dict()
    return data


def event_stub(message: dict[str, Any], size: int) -> dict[str, Any]:
    """An ``event`` message too large to send, as a small one that says what was left out.

    The event keeps its kind, channel, producer, time and sequence number; its value, texts and
    problems are replaced, and ``omitted`` names the full message's size in bytes.
    """
    event = message.get("event") or {}

    def short(value: Any) -> Any:
        return value[:200] if isinstance(value, str) else None

    update = event.get("update")
    if isinstance(update, dict):
        update = {
            **{key: short(update.get(key)) for key in ("channel", "producer_id", "kind")},
            "seq": update.get("seq") if isinstance(update.get("seq"), int) else 0,
            "timestamp": update.get("timestamp") or 0.0,
            "value": None,
        }
    note = f"event of {size:,} bytes omitted: over the {MAX_MESSAGE_BYTES:,}-byte message limit"
    return {
        "type": "event",
        "omitted": size,
        "event": {
            **{key: short(event.get(key)) for key in ("kind", "channel", "producer_id")},
            "timestamp": event.get("timestamp") or 0.0,
            "consumer_id": short(event.get("consumer_id")),
            "where": short(event.get("where")),
            "message": note,
            "traceback": None,
            "update": update,
            "diagnostic": None,
            "problems": None,
        },
    }


def answer_parts(request_id: int, result: Any) -> Iterator[dict[str, Any]]:
    """A result as ``response`` messages: one, or ``part``/``parts`` pieces of its JSON text.

    Raises:
        DebugProtocolError: the result is not JSON data or is over ``MAX_ANSWER_BYTES``.
    """
    whole = {"type": "response", "id": request_id, "result": result}
    text = dumps(whole)
    if len(text) < MAX_MESSAGE_BYTES // 4 or len(text.encode("utf-8")) < MAX_MESSAGE_BYTES:
        yield whole
        return
    del whole, text  # while the parts are sent, only their text is held
    body = dumps(result)
    del result
    size = len(body.encode("utf-8"))
    if size > MAX_ANSWER_BYTES:
        raise DebugProtocolError(
            f"the answer is {size:,} bytes, over the {MAX_ANSWER_BYTES:,}-byte limit; "
            "ask for less (a channel, a history limit)"
        )
    parts = -(-len(body) // PART_CHARS)
    for part in range(parts):
        chunk = body[part * PART_CHARS : (part + 1) * PART_CHARS]
        yield {"type": "response", "id": request_id, "part": part, "parts": parts, "data": chunk}


def _problems(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise TypeError("'problems' must map field paths to messages")
    return value


_TEXT = (str, type(None))
_NUMBER = (int, float)
_EVENT_FIELDS: dict[str, tuple[type, ...]] = {
    "kind": (str,),
    "channel": _TEXT,
    "producer_id": _TEXT,
    "timestamp": _NUMBER,
    "consumer_id": _TEXT,
    "where": _TEXT,
    "message": _TEXT,
    "traceback": _TEXT,
}
_UPDATE_FIELDS: dict[str, tuple[type, ...]] = {
    "channel": (str,),
    "producer_id": (str,),
    "kind": (str,),
    "seq": (int,),
    "timestamp": _NUMBER,
}
_DIAGNOSTIC_FIELDS: dict[str, tuple[type, ...]] = {
    "rule": (str,),
    "severity": (str,),
    "channel": (str,),
    "producer_id": (str,),
    "message": (str,),
    "where": (str,),
    "hint": (str,),
}
_EVENT_KINDS = frozenset(get_args(EventKind))


def _check(data: Any, fields: dict[str, tuple[type, ...]], what: str) -> None:
    """``data`` is an object whose ``fields`` (when present) have their types; no bools."""
    if not isinstance(data, dict):
        raise TypeError(f"{what} must be an object")
    for field, types in fields.items():
        value = data.get(field)
        if value is None and type(None) not in types and field in data:
            raise TypeError(f"{what}.{field} must not be null")
        if value is not None and (isinstance(value, bool) or not isinstance(value, types)):
            raise TypeError(f"{what}.{field} has the wrong type ({type(value).__name__})")


def event_from_dict(data: Any) -> StoreEvent:
    """Rebuild a ``StoreEvent`` received over the wire (values stay JSON data).

    Raises:
        DebugProtocolError: not an object, a field missing or of the wrong type, or an
            unknown kind (nothing of another shape reaches an ``on_event`` callback).
    """
    from mapstore_core._records import Diagnostic

    try:
        _check(data, _EVENT_FIELDS, "event")
        update = data.get("update")
        diagnostic = data.get("diagnostic")
        if data["kind"] not in _EVENT_KINDS:
            raise ValueError(f"unknown event kind {str(data['kind'])[:40]!r}")
        if update is not None:
            _check(update, _UPDATE_FIELDS, "update")
        if diagnostic is not None:
            _check(diagnostic, _DIAGNOSTIC_FIELDS, "diagnostic")
        return StoreEvent(
            kind=data["kind"],
            channel=data.get("channel"),
            producer_id=data.get("producer_id"),
            timestamp=float(data["timestamp"]),
            consumer_id=data.get("consumer_id"),
            update=None if update is None else ChannelUpdate(**update),
            where=data.get("where"),
            message=data.get("message"),
            traceback=data.get("traceback"),
            diagnostic=None if diagnostic is None else Diagnostic(**diagnostic),
            problems=_problems(data.get("problems")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise DebugProtocolError(f"malformed event: {exc}") from exc
