"""Cleanup evidence: whether a file closes, or hands on, what a producer was kept under.

A producer kept as ``self.publisher`` counts as closed when any code of the file closes an
attribute of that name (``self.publisher.close()``, ``owner.publisher.clear()``) or uses it in
a ``with``; as handed on when it is passed to a call, returned or yielded, put in a container,
or assigned elsewhere. A local name counts the same way within its function.

Only the lines that mention the names are read, and the lines that look like a ``close()``
first: when they close every name, the other mentions are not read at all.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from mapstore_lint._source import lines_of, word_positions
from mapstore_lint._syntax import children, touching

__all__ = ["CLEANUP", "Evidence", "evidence_lines", "find_evidence"]

CLEANUP = frozenset({"close", "clear", "disconnect"})
"""The methods that clean a producer up."""

_CLOSE_AFTER = re.compile(rb"[\s)\]]*\.\s*(?:close|clear|disconnect)\b")
_ESCAPE_PARENTS = (
    ast.Call,
    ast.keyword,
    ast.Return,
    ast.Yield,
    ast.YieldFrom,
    ast.List,
    ast.Tuple,
    ast.Set,
    ast.Dict,
    ast.Starred,
    ast.Assign,
    ast.AnnAssign,
    ast.AugAssign,
    ast.NamedExpr,
    ast.For,
    ast.AsyncFor,
    ast.comprehension,
    ast.Lambda,
)


@dataclass(slots=True)
class Evidence:
    """The kept names (``attr:publisher``, ``name:feed``) closed, and those handed on."""

    cleaned: set[str] = field(default_factory=set)
    escaped: set[str] = field(default_factory=set)


def evidence_lines(source: bytes, words: set[str]) -> tuple[list[int], list[int]]:
    """(lines where a word is closed, lines where a word appears at all), in one search."""
    if not words:
        return [], []
    positions = word_positions(source, (w.encode() for w in sorted(words)))
    closes = lines_of(source, (p for p in positions if _CLOSE_AFTER.match(source, p[1])))
    return closes, lines_of(source, positions)


def find_evidence(
    body: Sequence[ast.stmt],
    attrs: set[str],
    names: set[str],
    lines: tuple[list[int], list[int]],
) -> Evidence:
    """Which kept names are closed (or used as a context manager) or handed on, in body.

    ``lines`` is what ``evidence_lines`` found. The lines that look like a ``close()`` are
    read first; when they close every name, the other mentions are not read at all.
    """
    evidence = Evidence()
    wanted = {"attr:" + a for a in attrs} | {"name:" + n for n in names}
    closes, mentions = lines
    _uses(body, closes, attrs, names, evidence)
    if not wanted <= evidence.cleaned:
        done = set(closes)
        _uses(body, [n for n in mentions if n not in done], attrs, names, evidence)
    return evidence


def _uses(
    body: Sequence[ast.stmt],
    lines: Sequence[int],
    attrs: set[str],
    names: set[str],
    evidence: Evidence,
) -> None:
    for root, root_parent in touching(body, lines):
        stack: list[tuple[ast.AST, ast.AST | None]] = [(root, root_parent)]
        while stack:
            node, parent = stack.pop()
            key: str | None = None
            if isinstance(node, ast.Attribute) and node.attr in attrs:
                key = "attr:" + node.attr
            elif isinstance(node, ast.Name) and node.id in names:
                key = "name:" + node.id
            if key is not None and isinstance(getattr(node, "ctx", None), ast.Load):
                if isinstance(parent, ast.Attribute):
                    if parent.attr in CLEANUP:
                        evidence.cleaned.add(key)
                elif isinstance(parent, ast.withitem):
                    evidence.cleaned.add(key)
                elif isinstance(parent, _ESCAPE_PARENTS) and not (
                    isinstance(parent, ast.Call) and parent.func is node
                ):
                    evidence.escaped.add(key)
            stack.extend((child, node) for child in children(node))
