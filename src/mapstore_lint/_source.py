"""The source as bytes and as lines: where words are, which lines hold them, and ``# noqa``.

Speed comes from not walking what cannot matter: every rule starts at a registration call,
so the bytes are searched for the registering names first (``bytes.find`` per word is several
times faster than one regex alternation), and the AST walk enters only the statements whose
lines hold one. Findings are placed here too: 1-based columns counted in characters (as ruff
and flake8 print them), and silenced by a ``# noqa`` on their line.
"""

from __future__ import annotations

import re
import tokenize
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from io import BytesIO

__all__ = ["lines_of", "place", "silenced", "text_lines", "touches", "word_positions"]

_NOQA = re.compile(
    r"#\s*noqa(?::\s*(?P<codes>[A-Za-z0-9_-]+(?:[\s,]+[A-Za-z0-9_-]+)*))?", re.IGNORECASE
)


def touches(lines: Sequence[int], start: int, end: int) -> bool:
    """Whether one of the sorted ``lines`` is within ``start``..``end``."""
    i = bisect_left(lines, start)
    return i < len(lines) and lines[i] <= end


def _is_word_byte(byte: int) -> bool:
    return byte == 95 or 48 <= byte <= 57 or 65 <= byte <= 90 or 97 <= byte <= 122 or byte > 127


def word_positions(source: bytes, words: Iterable[bytes]) -> list[tuple[int, int]]:
    """(start, end) of each whole-word occurrence of ``words``, in order.

    ``bytes.find`` per word is several times faster than one regex alternation.
    """
    found: list[tuple[int, int]] = []
    size = len(source)
    for word in words:
        start = source.find(word)
        while start != -1:
            end = start + len(word)
            if (start == 0 or not _is_word_byte(source[start - 1])) and (
                end == size or not _is_word_byte(source[end])
            ):
                found.append((start, end))
            start = source.find(word, end)
    found.sort()
    return found


def lines_of(source: bytes, positions: Iterable[tuple[int, int]]) -> list[int]:
    """The 1-based line numbers of sorted positions, without repeats."""
    found: list[int] = []
    line, pos = 1, 0
    for start, _ in positions:
        line += source.count(b"\n", pos, start)
        pos = start
        if not found or found[-1] != line:
            found.append(line)
    return found


def text_lines(source: bytes) -> list[str]:
    """The source's lines as text, decoded as Python would (its coding cookie, else UTF-8)."""
    try:
        encoding, _ = tokenize.detect_encoding(BytesIO(source).readline)
        return source.decode(encoding, "replace").splitlines()
    except SyntaxError:
        return source.decode("utf-8", "replace").splitlines()


def silenced(line_text: str, rule: str) -> bool:
    """Whether the line's ``# noqa`` (bare, or naming ``rule``) silences ``rule``."""
    match = _NOQA.search(line_text)
    if match is None:
        return False
    codes = match.group("codes")
    if codes is None:
        return True
    return rule in {code.lower() for code in re.split(r"[\s,]+", codes) if code}


def place(text: list[str], line: int, offset: int, rule: str) -> tuple[int, int, bool]:
    """(line, 1-based column in characters, silenced by noqa) of an AST position.

    ``offset`` is the AST's ``col_offset``, counted in UTF-8 bytes.
    """
    line_text = text[line - 1] if line - 1 < len(text) else ""
    column = len(line_text.encode("utf-8")[:offset].decode("utf-8", "replace")) + 1
    return line, column, silenced(line_text, rule)
