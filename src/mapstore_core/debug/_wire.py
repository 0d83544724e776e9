r"""The debug endpoint's wire format: newline-delimited JSON objects, nothing else.

Every message is one JSON object on one line, at most ``MAX_MESSAGE_BYTES`` long, with a
``type``. JSON only: nothing received is ever unpickled or evaluated. The docs' "Wire
format" section lists the message kinds and their fields. Version 2: after the welcome the
server sends the store's ``state`` (a snapshot), then events (``_events``' JSON form) and
``sync`` messages (a snapshot of the channels whose publishes it coalesced), and a ``tick``
each second it has sent nothing else.

Whatever the store holds can be sent: a lone surrogate (which UTF-8 cannot carry) is sent as
the visible text ``\udXXX``; an event over the limit becomes a stub that names its size
(``event_stub``); an answer, a state or a sync over the limit is sent in parts
(``split``), and in a state or a sync a value over the limit becomes a stub that names its
size (``bounded_snapshot``).
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
    "MAX_STATE_BYTES",
    "PART_CHARS",
    "PROTOCOL",
    "SNAPSHOT_TYPES",
    "VERSION",
    "Assembler",
    "answer_parts",
    "bounded_snapshot",
    "decode",
    "encode",
    "event_from_dict",
    "loads",
    "snapshot_parts",
    "split",
]

PROTOCOL = "mapstore-debug"
VERSION = 2
"""Version 2: a state, then events and syncs for the client's mirror, and ticks."""
SNAPSHOT_TYPES = frozenset(("state", "sync"))
"""Messages that carry a ``snapshot``: the whole store (``state``) or some channels (``sync``)."""
MAX_MESSAGE_BYTES = 1_048_576
MAX_ANSWER_BYTES = 64 * MAX_MESSAGE_BYTES
"""An answer up to this size is sent in parts; a larger one is refused (the connection stays)."""
MAX_STATE_BYTES = MAX_ANSWER_BYTES
"""A state or sync is made to fit this size: its largest values become stubs until it does."""
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


def split(head: dict[str, Any], body: str) -> Iterator[dict[str, Any]]:
    """``body`` (JSON text) as ``head`` messages with ``part``, ``parts`` and ``data``.

    Each part carries ``PART_CHARS`` characters: at most 4 UTF-8 bytes each, escapes
    included, so every part fits a message. ``Assembler`` joins them again.
    """
    parts = -(-len(body) // PART_CHARS)
    for part in range(parts):
        chunk = body[part * PART_CHARS : (part + 1) * PART_CHARS]
        yield {**head, "part": part, "parts": parts, "data": chunk}


def _fits(message: dict[str, Any]) -> bool:
    text = dumps(message)
    return len(text) < MAX_MESSAGE_BYTES // 4 or len(text.encode("utf-8")) < MAX_MESSAGE_BYTES


def answer_parts(request_id: int, result: Any) -> Iterator[dict[str, Any]]:
    """A result as ``response`` messages: one, or ``part``/``parts`` pieces of its JSON text.

    Raises:
        DebugProtocolError: the result is not JSON data or is over ``MAX_ANSWER_BYTES``.
    """
    whole = {"type": "response", "id": request_id, "result": result}
    if _fits(whole):
        yield whole
        return
    del whole  # while the parts are sent, only their text is held
    body = dumps(result)
    del result
    size = len(body.encode("utf-8"))
    if size > MAX_ANSWER_BYTES:
        raise DebugProtocolError(
            f"the answer is {size:,} bytes, over the {MAX_ANSWER_BYTES:,}-byte limit; "
            "ask for less (a channel, a history limit)"
        )
    yield from split({"type": "response", "id": request_id}, body)


def _value_stub(size: int, why: str) -> str:
    return f"<left out: a value of {size:,} bytes, {why}>"


def bounded_snapshot(snapshot: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """``snapshot`` with the values it cannot carry as stubs; and how many were left out.

    A value (current or in a history) whose JSON is over ``MAX_MESSAGE_BYTES`` becomes the
    text ``<left out: a value of N bytes, over the ... limit>``, as an event over the limit
    does. If the whole is still over ``MAX_STATE_BYTES``, the largest values of histories,
    then the largest current values, become stubs until it fits. The snapshot given is not
    changed (its ``values`` and ``history`` are copied where a value is replaced).

    Raises:
        DebugProtocolError: ``snapshot`` is not JSON data.
    """
    values = {channel: dict(held) for channel, held in (snapshot.get("values") or {}).items()}
    history = {
        channel: [dict(update) for update in updates]
        for channel, updates in (snapshot.get("history") or {}).items()
    }
    # (size, is current, container, key): every value, measured once
    measured: list[tuple[int, bool, Any, Any]] = []
    for held in values.values():
        measured += [(_size(value), True, held, key) for key, value in held.items()]
    for updates in history.values():
        measured += [(_size(update["value"]), False, update, "value") for update in updates]
    stubbed = 0
    kept: list[tuple[int, bool, Any, Any]] = []
    for size, current, container, key in measured:
        if size > MAX_MESSAGE_BYTES:
            container[key] = _value_stub(size, f"over the {MAX_MESSAGE_BYTES:,}-byte limit")
            stubbed += 1
        else:
            kept.append((size, current, container, key))
    bounded = {**snapshot, "values": values, "history": history}
    excess = len(dumps(bounded).encode("utf-8")) - MAX_STATE_BYTES
    if excess > 0:
        # histories first, largest first: the current values are what a panel shows
        for size, _current, container, key in sorted(kept, key=lambda m: (m[1], -m[0])):
            note = f"left out so the state fits {MAX_STATE_BYTES:,} bytes"
            container[key] = _value_stub(size, note)
            stubbed += 1
            excess -= size
            if excess <= 0:
                break
    return bounded, stubbed


def _size(value: Any) -> int:
    return len(dumps(value).encode("utf-8"))


def snapshot_parts(kind: str, snapshot: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A ``state`` or ``sync`` message: one, or parts of its snapshot's JSON text.

    Never refused: what cannot fit becomes stubs (``bounded_snapshot``).

    Raises:
        DebugProtocolError: the snapshot is not JSON data.
    """
    whole = {"type": kind, "snapshot": snapshot}
    if _fits(whole):
        yield whole
        return
    del whole
    bounded, _stubbed = bounded_snapshot(snapshot)
    del snapshot
    yield from split({"type": kind}, dumps(bounded))


class Assembler:
    """Joins messages sent in parts (``split``) again, one message at a time per key.

    ``add(key, message)`` returns ``(True, value)`` once the last part is in (the whole JSON
    value, parsed), else ``(False, None)``.

    Raises:
        DebugProtocolError: a malformed part, parts out of order, or more than ``limit``
            characters in all.
    """

    def __init__(self, limit: int = MAX_ANSWER_BYTES) -> None:
        self.limit = limit
        self._pieces: dict[Any, list[str]] = {}

    def add(self, key: Any, message: dict[str, Any]) -> tuple[bool, Any]:
        """Take one part; ``(True, value)`` after the last one, else ``(False, None)``."""
        part, parts, data = message.get("part"), message.get("parts"), message.get("data")
        if not (type(part) is int and type(parts) is int and isinstance(data, str)):
            raise DebugProtocolError("a malformed part of a message")
        pieces = self._pieces.setdefault(key, [])
        if part != len(pieces) or part >= parts:
            self._pieces.pop(key, None)
            raise DebugProtocolError("parts of a message out of order")
        pieces.append(data)
        if sum(len(p) for p in pieces) > self.limit:
            self._pieces.pop(key, None)
            raise DebugProtocolError("a message in parts over the size limit")
        if part < parts - 1:
            return False, None
        del self._pieces[key]
        return True, loads("".join(pieces))

    def forget(self, key: Any) -> None:
        """Drop what was collected under ``key`` (nobody waits for it any more)."""
        self._pieces.pop(key, None)

    def clear(self) -> None:
        """Drop everything collected (the connection is gone)."""
        self._pieces.clear()


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
