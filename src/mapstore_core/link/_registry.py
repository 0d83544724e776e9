"""What Redis says about the processes of a namespace, checked at one boundary.

The registry (a sorted set of names and heartbeat deadlines), each process's announcement
and its link counters are written by other processes, so any of them may be malformed,
oversized or hostile. They are read here into typed values (``Announcement``,
``Counters``, deadlines), bounded in size, depth and number range; after this the link
works on trusted values, and what fails is skipped and counted, never raised.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Annotated, Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mapstore_core.link._wire import check_name

__all__ = [
    "MAX_DEADLINE_AHEAD_MS",
    "MAX_PROCESSES",
    "MAX_RECORD_BYTES",
    "Announcement",
    "Counters",
    "Registry",
    "announced_run",
    "read_announcement",
    "read_counters",
    "read_registry",
]

MAX_PROCESSES = 1_000
"""Processes a link keeps track of: a namespace listing more (fake ones, say) costs no more."""
MAX_RECORD_BYTES = 4 * 1024 * 1024
"""An announcement bigger than this is not read."""
MAX_DEADLINE_AHEAD_MS = 3 * 3_600_000 + 60_000
"""A deadline further ahead than 3 heartbeats of an hour is no process's (refused)."""
_MAX_SCHEMA_DEPTH = 32
_MAX_HEARTBEAT = 3_600.0

_Text = Annotated[str, Field(max_length=1_024)]
_Count = Annotated[int, Field(ge=0, le=2**63)]


class Announcement(BaseModel):
    """A process's announcement (``Presence.announce`` writes it), as far as it is valid."""

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore", allow_inf_nan=False)

    name: _Text = ""
    incarnation: Annotated[str, Field(max_length=64)] = ""
    host: _Text = ""
    pid: Annotated[int, Field(ge=0, le=2**32)] | None = None
    program: _Text = ""
    started: Annotated[float, Field(ge=0, le=1e11)] | None = None
    version: Annotated[str, Field(max_length=64)] = ""
    heartbeat: Annotated[float, Field(gt=0, le=_MAX_HEARTBEAT)] = 1.0
    schemas: dict[_Text, _Text] = {}
    documents: dict[_Text, dict[str, Any]] = Field(default={}, alias="schema_json")
    producers: list[tuple[_Text, _Text, _Text, _Text]] = []
    consumers: list[tuple[_Text, _Text]] = []

    @field_validator("documents")
    @classmethod
    def _shallow(cls, documents: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Schemas nested deeper than any model's are left out (the comparison walks them)."""
        return {k: v for k, v in documents.items() if _depth_at_most(v, _MAX_SCHEMA_DEPTH)}


class Counters(NamedTuple):
    """A process's link counters at its last heartbeat."""

    announced: int
    sent: int
    skipped: int  # coalesced + dropped
    run: str = ""
    """The run (incarnation) that wrote them: two under one name show as two runs."""


class _Counters(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")

    i: Annotated[str, Field(max_length=64)] = ""
    a: _Count = 0
    sent: _Count = 0
    coalesced: _Count = 0
    dropped: _Count = 0


class Registry(NamedTuple):
    """The registry as read: valid names and deadlines, and what was refused."""

    deadlines: dict[str, int]
    """Process name -> heartbeat deadline (ms, Redis's clock), at most ``MAX_PROCESSES``."""
    refused: list[bytes]
    """Members that are no process's: not a valid name, or an impossible deadline."""
    over: int
    """Valid members left out because the registry lists more than ``MAX_PROCESSES``."""


_RUN = re.compile(rb'"incarnation": ?"([0-9A-Za-z_-]{1,64})"')


def announced_run(head: Any) -> str | None:
    """The run an announcement names, read from its first KiB (``GETRANGE 0 1023``).

    ``announce`` writes it near the start; reading only the head keeps a lookup cheap
    however big (or hostile) the rest is. None when it is not there.
    """
    if not isinstance(head, bytes):
        return None
    match = _RUN.search(head)
    return match.group(1).decode("ascii") if match is not None else None


def read_announcement(raw: Any) -> Announcement | None:
    """An announcement read from Redis; None when missing, oversized or invalid."""
    if not isinstance(raw, bytes) or len(raw) > MAX_RECORD_BYTES:
        return None
    try:
        return Announcement.model_validate_json(raw)
    except ValidationError:
        return None


def read_counters(raw: Any) -> Counters | None:
    """Link counters read from Redis; None when missing or invalid."""
    if not isinstance(raw, bytes) or len(raw) > 4_096:
        return None
    try:
        counters = _Counters.model_validate_json(raw)
    except ValidationError:
        return None
    return Counters(counters.a, counters.sent, counters.coalesced + counters.dropped, counters.i)


def read_registry(
    members: Iterable[tuple[Any, Any]], now_ms: int, *, keep: str | None = None
) -> Registry:
    """The registry's (member, score) pairs as names and deadlines, within bounds.

    A member that is not a valid process name (not UTF-8, a control character) or whose
    deadline is impossible (not finite, or further ahead than any heartbeat) is refused.
    Past ``MAX_PROCESSES`` the most recent deadlines are kept (and ``keep``, this process).
    """
    valid: dict[str, int] = {}
    refused: list[bytes] = []
    latest = now_ms + MAX_DEADLINE_AHEAD_MS
    for member, score in members:
        name = _name(member)
        if name is None or not (isinstance(score, float | int) and math.isfinite(score)):
            refused.append(member if isinstance(member, bytes) else str(member).encode())
            continue
        if score > latest:
            refused.append(member if isinstance(member, bytes) else name.encode())
            continue
        valid[name] = int(score)
    over = 0
    if len(valid) > MAX_PROCESSES:
        newest = sorted(valid, key=valid.__getitem__, reverse=True)[:MAX_PROCESSES]
        if keep is not None and keep in valid and keep not in newest:
            newest[-1] = keep
        over = len(valid) - MAX_PROCESSES
        valid = {name: valid[name] for name in newest}
    return Registry(valid, refused, over)


def _name(member: Any) -> str | None:
    if not isinstance(member, bytes):
        return None
    try:
        return check_name(member.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def _depth_at_most(value: Any, limit: int) -> bool:
    """Whether ``value`` nests at most ``limit`` containers deep (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return False
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return True
