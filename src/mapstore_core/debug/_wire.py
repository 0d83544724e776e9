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
from typing import Any

from mapstore_core._errors import DebugProtocolError, EventFormatError
from mapstore_core._events import StoreEvent, event_from_json
from mapstore_core._jsonable import MAX_INT_DIGITS

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


def event_from_dict(data: Any) -> StoreEvent:
    """Rebuild a ``StoreEvent`` received over the wire (values stay JSON data).

    Raises:
        DebugProtocolError: not an event in ``_events``' JSON form (nothing of another shape
            reaches an ``on_event`` callback).
    """
    try:
        return event_from_json(data)
    except EventFormatError as exc:
        raise DebugProtocolError(f"malformed event: {exc}") from exc
