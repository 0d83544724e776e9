"""The link's key layout and entry format in Redis (version 1), and its strict decoder.

Everything here is plain data: no Redis client, no threads. Entries are JSON (never pickle),
carry a version, and are size-limited; ``decode_entry`` refuses anything else with
``ValueError`` so a hostile or foreign entry in the namespace is dropped and counted, never
a crash.

Keys of namespace ``NS`` (a channel's two keys share the hash tag ``{channel}``, so Redis
Cluster places each channel on one shard and spreads channels across shards)::

    mapstore:NS:procs               sorted set: process name -> heartbeat deadline (ms, Redis clock)
    mapstore:NS:proc:NAME           string: the process's announcement (JSON)
    mapstore:NS:channels            set: channel names that have a stream
    mapstore:NS:{CHANNEL}:stream    stream: batches of updates, field "m" = one entry (JSON)
    mapstore:NS:{CHANNEL}:latest    hash: "PROCESS<LF>PRODUCER" -> entry with its newest update

An entry::

    {"v": 1, "p": process, "i": incarnation, "c": channel,
     "P": {producer_id: [kind, registered_at, validated]},
     "u": [[op, producer_id, n, timestamp, payload], ...]}

``op`` is ``reg`` | ``pub`` | ``clr`` | ``close`` (payload: the reason); ``n`` numbers each
producer's updates from 0 in its process, so a receiver drops re-sends and sees gaps.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from pydantic_core import to_json

from mapstore_core._records import ProducerKind

__all__ = [
    "MAX_ENTRY_BYTES",
    "OPS",
    "WIRE_VERSION",
    "Entry",
    "Keys",
    "Op",
    "check_name",
    "check_namespace",
    "decode_entry",
    "encode_entry",
    "entry_header",
    "entry_prefix",
    "schema_fingerprint",
]

WIRE_VERSION = 1
MAX_ENTRY_BYTES = 512 * 1024
"""Entries bigger than this are never written, and dropped when read."""
OPS = frozenset({"reg", "pub", "clr", "close"})
_KINDS = frozenset({"producer", "bridge"})
_NAMESPACE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_NAME = re.compile(r"[^\s{}@]{1,128}")


def check_namespace(namespace: object) -> str:
    """Return ``namespace`` if it is 1-64 of ``A-Z a-z 0-9 _ . -``; else raise ValueError."""
    if not isinstance(namespace, str) or not _NAMESPACE.fullmatch(namespace):
        raise ValueError(f"a namespace is 1-64 of A-Z a-z 0-9 _ . -, not {namespace!r}")
    return namespace


def check_name(name: object) -> str:
    """Return a process name if it has 1-128 characters and no space, ``{``, ``}`` or ``@``."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(
            f"a process name is 1-128 characters without spaces, braces or '@', not {name!r}"
        )
    return name


class Keys:
    """The Redis keys of one namespace."""

    def __init__(self, namespace: str) -> None:
        self.prefix = f"mapstore:{namespace}"
        self.procs = f"{self.prefix}:procs"
        self.channels = f"{self.prefix}:channels"

    def proc(self, name: str) -> str:
        """The key of a process's announcement."""
        return f"{self.prefix}:proc:{name}"

    def stream(self, channel: str) -> str:
        """The stream of a channel's updates."""
        return f"{self.prefix}:{{{channel}}}:stream"

    def latest(self, channel: str) -> str:
        """The hash of a channel's newest update per (process, producer)."""
        return f"{self.prefix}:{{{channel}}}:latest"

    @staticmethod
    def field(process: str, producer_id: str) -> str:
        """The ``latest`` hash field of one producer of one process."""
        return f"{process}\n{producer_id}"


class Op(NamedTuple):
    """One update of one producer, as it travels."""

    producer_id: str
    op: str
    n: int
    timestamp: float
    payload: Any


class Entry(NamedTuple):
    """A decoded entry: who sent it, for which channel, and its updates in order."""

    process: str
    incarnation: str
    channel: str
    meta: dict[str, tuple[ProducerKind, str, bool]]
    ops: list[Op]


def _fallback(value: Any) -> Any:
    return repr(value)


def encode_entry(
    process: str,
    incarnation: str,
    channel: str,
    meta: Mapping[str, tuple[str, str, bool]],
    ops: Sequence[tuple[str, str, int, float, Any]],  # (op, producer id, n, timestamp, payload)
) -> bytes:
    """One entry as JSON bytes (pydantic models and unknown objects are serialised)."""
    return to_json(
        {"v": WIRE_VERSION, "p": process, "i": incarnation, "c": channel, "P": meta, "u": ops},
        fallback=_fallback,
        inf_nan_mode="null",
    )


_HEADER = re.compile(rb'\{"v":1,"p":("(?:[^"\\]|\\.){1,300}"),"i":("(?:[^"\\]|\\.){1,64}"),')


def entry_header(raw: bytes) -> tuple[str, str] | None:
    """(process, incarnation) read from the start of an entry without parsing all of it.

    None when the start does not look like ``encode_entry``'s (then decode it fully, which
    refuses what is wrong). Lets a reader skip a gone process's big batches cheaply.
    """
    match = _HEADER.match(raw, 0, 512)
    if match is None:
        return None
    try:
        process, incarnation = json.loads(match.group(1)), json.loads(match.group(2))
    except ValueError:
        return None
    return (process, incarnation) if isinstance(process, str) else None


def entry_prefix(process: str, incarnation: str) -> bytes:
    """How every entry ``encode_entry`` writes for this process starts.

    A reader skips its own entries by this prefix without decoding them.
    """
    return to_json({"v": WIRE_VERSION, "p": process, "i": incarnation})[:-1] + b","


def _str(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string")
    return value


def _int_or_text(text: str) -> int | str:
    """A JSON integer, or text that says what it was when Python cannot take it whole.

    Without this, one such value would cost the whole entry: every other producer's
    updates in it too.
    """
    digits = len(text.lstrip("-"))
    if digits <= _MAX_INT_TEXT:
        return int(text)
    return f"<int of about {digits:,} digits, longer than JSON here carries>"


_MAX_INT_TEXT = 4300  # Python's default limit for int(text) (sys.get_int_max_str_digits)


def decode_entry(
    raw: Any,
    *,
    channel: str | None = None,
    accept: Callable[[str, str], bool] | None = None,
) -> Entry | None:
    """Decode and check one entry; raise ValueError on anything that is not a v1 entry.

    Args:
        raw: the bytes read from Redis.
        channel: the channel whose key it was read from; an entry naming another is refused.
        accept: called with (process, incarnation) once the header is checked; False skips
            the entry (None is returned) before its updates are checked.
    """
    if not isinstance(raw, bytes | str):
        raise ValueError("an entry must be bytes")
    if len(raw) > MAX_ENTRY_BYTES:
        raise ValueError(f"entry of {len(raw)} bytes is over the {MAX_ENTRY_BYTES} limit")
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"not JSON: {exc}") from exc
    except ValueError:  # an integer Python will not parse (4,301+ digits): that one as text
        try:
            data = json.loads(raw, parse_int=_int_or_text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError("an entry must be a JSON object")
    if data.get("v") != WIRE_VERSION:
        raise ValueError(f"unknown entry version {data.get('v')!r}")
    process = check_name(data.get("p"))
    incarnation = _str(data.get("i"), "incarnation")
    entry_channel = _str(data.get("c"), "channel")
    if channel is not None and entry_channel != channel:
        raise ValueError(f"entry for {entry_channel!r} found under {channel!r}")
    if accept is not None and not accept(process, incarnation):
        return None
    raw_meta, raw_ops = data.get("P"), data.get("u")
    if not isinstance(raw_meta, dict) or not isinstance(raw_ops, list):
        raise ValueError("an entry needs 'P' (an object) and 'u' (a list)")
    meta: dict[str, tuple[ProducerKind, str, bool]] = {}
    for pid, info in raw_meta.items():
        if not (
            isinstance(info, list)
            and len(info) == 3
            and info[0] in _KINDS
            and isinstance(info[1], str)
            and isinstance(info[2], bool)
            and pid.strip()
        ):
            raise ValueError(f"bad producer description for {pid!r}")
        meta[pid] = (info[0], info[1], info[2])
    ops: list[Op] = []
    for item in raw_ops:
        if not (isinstance(item, list) and len(item) == 5):
            raise ValueError("an update must be [op, producer, n, timestamp, payload]")
        op, pid, n, ts, payload = item
        if op not in OPS or pid not in meta:
            raise ValueError(f"bad update {op!r} of {pid!r}")
        if type(n) is not int or n < 0:
            raise ValueError("an update number must be an integer >= 0")
        if not isinstance(ts, int | float) or isinstance(ts, bool) or not math.isfinite(ts):
            raise ValueError("a timestamp must be a number")
        ops.append(Op(pid, op, n, float(ts), payload))
    return Entry(process, incarnation, entry_channel, meta, ops)


def schema_fingerprint(model_name: str, json_schema: Mapping[str, Any]) -> str:
    """A short hash of a model's JSON schema: equal fingerprints, compatible channels."""
    schema = json.dumps(json_schema, sort_keys=True)
    return f"{model_name}:{hashlib.sha256(schema.encode()).hexdigest()[:12]}"
