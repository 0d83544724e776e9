"""The debug endpoint's wire format: newline-delimited JSON objects, nothing else.

Every message is one JSON object on one line, at most ``MAX_MESSAGE_BYTES`` long, with a
``type``. JSON only: nothing received is ever unpickled or evaluated. The README's "Wire
format" section lists the message kinds and their fields.
"""

from __future__ import annotations

import json
from typing import Any

from mapstore_core._errors import DebugProtocolError
from mapstore_core._jsonable import jsonable
from mapstore_core._records import ChannelUpdate, StoreEvent

__all__ = [
    "MAX_MESSAGE_BYTES",
    "PROTOCOL",
    "VERSION",
    "decode",
    "encode",
    "event_from_dict",
    "event_to_dict",
]

PROTOCOL = "mapstore-debug"
VERSION = 1
MAX_MESSAGE_BYTES = 1_048_576


def _no_constants(name: str) -> Any:
    raise DebugProtocolError(f"{name} is not valid JSON")


def encode(message: dict[str, Any]) -> bytes:
    """One message as a line of UTF-8 JSON.

    Raises:
        DebugProtocolError: the message is not JSON data or is over ``MAX_MESSAGE_BYTES``.
    """
    try:
        data = json.dumps(message, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise DebugProtocolError(f"message is not JSON data: {exc}") from exc
    line = data.encode("utf-8") + b"\n"
    if len(line) > MAX_MESSAGE_BYTES:
        raise DebugProtocolError(
            f"message of {len(line):,} bytes is over the {MAX_MESSAGE_BYTES:,}-byte limit"
        )
    return line


def decode(line: bytes) -> dict[str, Any]:
    """Parse one received line; refuse anything but a JSON object with a string ``type``.

    Raises:
        DebugProtocolError: oversized, not UTF-8, not JSON, not an object, or no ``type``.
    """
    if len(line) > MAX_MESSAGE_BYTES:
        raise DebugProtocolError(f"message over the {MAX_MESSAGE_BYTES:,}-byte limit")
    try:
        text = line.decode("utf-8")
        message = json.loads(text, parse_constant=_no_constants)
    except UnicodeDecodeError as exc:
        raise DebugProtocolError("message is not UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise DebugProtocolError(f"message is not JSON: {exc.msg} at {exc.pos}") from exc
    except RecursionError as exc:
        raise DebugProtocolError("message is nested too deeply") from exc
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


def _problems(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise TypeError("'problems' must map field paths to messages")
    return value


def event_from_dict(data: dict[str, Any]) -> StoreEvent:
    """Rebuild a ``StoreEvent`` received over the wire (values stay JSON data).

    Raises:
        DebugProtocolError: a field is missing or of the wrong type.
    """
    from mapstore_core._records import Diagnostic

    try:
        update = data.get("update")
        diagnostic = data.get("diagnostic")
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
