"""Reading a recording's lines from a point on: plain, or gzip member by member.

``read_lines(path, start)`` yields ``(unit, n, line)``: ``unit`` is where reading may start
again to reach that line (its own offset in a plain file; its gzip member's offset in a
compressed one) and ``n`` how many lines precede it from there. A line is only ever
yielded whole; what follows the last newline is a cut (``Tail``). Compressed data that is
corrupt is skipped to the next gzip member, and said (``Tail.problems``).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

__all__ = ["GZIP_MAGIC", "Tail", "is_gzip", "read_lines"]

GZIP_MAGIC = b"\x1f\x8b\x08"
_CHUNK = 1 << 18


@dataclass
class Tail:
    """What reading found besides whole lines."""

    cut: int = 0
    """Bytes after the last whole line (a line the writer had not finished)."""
    broken: int = 0
    """Stretches of compressed data that could not be read (skipped to the next member)."""
    problems: list[str] = field(default_factory=list)


def is_gzip(path: str) -> bool:
    """Whether the file starts as gzip does (its name does not matter to a reader)."""
    with open(path, "rb") as file:
        return file.read(3) == GZIP_MAGIC


def read_lines(path: str, start: int, gz: bool, tail: Tail) -> Iterator[tuple[int, int, bytes]]:
    """The whole lines of ``path`` from byte ``start`` (see the module docstring)."""
    if gz:
        yield from _gzip_lines(path, start, tail)
    else:
        yield from _plain_lines(path, start, tail)


def _plain_lines(path: str, start: int, tail: Tail) -> Iterator[tuple[int, int, bytes]]:
    with open(path, "rb") as file:
        file.seek(start)
        offset = start
        for line in file:
            if not line.endswith(b"\n"):
                tail.cut = len(line)
                return
            yield offset, 0, line[:-1]
            offset += len(line)


def _gzip_lines(path: str, start: int, tail: Tail) -> Iterator[tuple[int, int, bytes]]:
    with open(path, "rb") as file:
        file.seek(start)
        member = start  # the raw offset of the member being read
        raw = start  # the raw offset of the next byte read
        inflate = zlib.decompressobj(31)
        n = 0
        rest = b""
        data = b""
        while True:
            if not data:
                data = file.read(_CHUNK)
                if not data:
                    break
            try:
                out = inflate.decompress(data)
            except zlib.error as exc:
                tail.broken += 1
                tail.problems.append(f"compressed data at byte {member:,} is corrupt ({exc})")
                found = _next_member(file, member + 1)
                if found < 0:
                    rest = b""
                    break
                file.seek(found)
                member = raw = found
                inflate, n, rest, data = zlib.decompressobj(31), 0, b"", b""
                continue
            if inflate.eof:
                used = len(data) - len(inflate.unused_data)
                data = inflate.unused_data
            else:
                used = len(data)
                data = b""
            raw += used
            if out:
                lines = (rest + out).split(b"\n")
                rest = lines.pop()
                for line in lines:
                    yield member, n, line
                    n += 1
            if inflate.eof:  # the member ended: the next starts here
                member = raw
                inflate, n = zlib.decompressobj(31), 0
                if rest:
                    tail.problems.append(f"a gzip member ended inside a line at byte {raw:,}")
                    tail.broken += 1
                    rest = b""
        tail.cut = len(rest)


def _next_member(file: BinaryIO, after: int) -> int:
    """The offset of the next gzip header at or after ``after``, or -1."""
    file.seek(after)
    offset = after
    carry = b""
    while True:
        block = file.read(_CHUNK)
        if not block:
            return -1
        data = carry + block
        found = data.find(GZIP_MAGIC)
        if found >= 0:
            return offset - len(carry) + found
        carry = data[-2:]
        offset += len(block)
