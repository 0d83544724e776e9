"""Checking one file: parse it, collect its facts, run the rules, apply ``# noqa``.

A file whose bytes name no registering function is only parsed (and, when other files may
need them, its classes are written down). Findings are sorted by line and column, and the
same finding is reported once.
"""

from __future__ import annotations

import ast
import re

from mapstore_lint._catalogue import PARSE_ERROR, RULES
from mapstore_lint._facts import class_facts_only, collect, registration_lines
from mapstore_lint._findings import FileResult, Finding, PendingWidgetCheck
from mapstore_lint._rules import file_rules, waits_on_other_files
from mapstore_lint._source import place, text_lines

__all__ = ["check_source", "lint_source"]


_COOKIE = re.compile(rb"^[ \t\f]*#.*?coding[:=]")


def _parse_error(path: str, line: int, column: int, message: str) -> Finding:
    """A ``parse-error`` finding; its line and column are 1-based whatever Python said."""
    return Finding(
        path,
        max(line, 1),
        max(column, 1),
        PARSE_ERROR,
        "error",
        message,
        "fix the file, then re-run",
    )


def _reason(error: BaseException) -> str:
    """The error's own text; its type's name when it has none (a bare ``MemoryError``)."""
    return str(error) or type(error).__name__


def _cookie_line(data: bytes) -> int:
    """The line of the coding declaration Python refused (it says line 0, column -1)."""
    for number, line in enumerate(data.split(b"\n", 2)[:2], start=1):
        if _COOKIE.match(line):
            return number
    return 1


def _cannot_parse(path: str, data: bytes, error: Exception) -> Finding:
    """Why Python refused the source, where it says (1:1 when it does not).

    Python's parser answers nesting deeper than it can build with a ``RecursionError`` (or,
    from its own stack, a ``MemoryError`` without a message): the file is too deeply nested
    to check, which is said so rather than shown as a traceback.
    """
    if isinstance(error, RecursionError):
        return _parse_error(path, 1, 1, f"too deeply nested to check: {_reason(error)}")
    if isinstance(error, MemoryError):
        return _parse_error(
            path, 1, 1, "too deeply nested to check: Python's parser ran out of memory"
        )
    if isinstance(error, SyntaxError):
        message = f"cannot parse: {error.msg or _reason(error)}"
        if error.lineno == 0:  # the coding declaration
            return _parse_error(path, _cookie_line(data), 1, message)
        return _parse_error(path, error.lineno or 1, error.offset or 1, message)
    return _parse_error(path, 1, 1, f"cannot parse: {_reason(error)}")


def lint_source(source: bytes | str, path: str = "<string>") -> list[Finding]:
    """Check one file's source; findings sorted by line and column, ``# noqa`` applied.

    A source that does not parse gives one ``parse-error`` finding instead. Classes are
    judged from this file alone (``lint_paths`` also follows bases across the files it checks).
    """
    data = source.encode("utf-8") if isinstance(source, str) else source
    return check_source(data, path).findings


def check_source(data: bytes, path: str, module: str | None = None) -> FileResult:
    """Check one file; with its dotted ``module`` name, also collect what other files need."""
    try:
        tree = ast.parse(data, filename=path)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
        return FileResult([_cannot_parse(path, data, error)])
    package = None
    if module is not None:
        is_package = path.endswith("__init__.py")
        package = module if is_package else module.rpartition(".")[0]
    lines = registration_lines(data)
    try:
        if not lines:
            if module is None or not any(
                isinstance(stmt, ast.ClassDef) and (stmt.bases or stmt.decorator_list)
                for stmt in tree.body
            ):
                return FileResult([])
            return FileResult([], class_facts_only(tree, package, module))
        facts = collect(data, tree, lines, package, module)
    except RecursionError as error:
        return FileResult([_cannot_parse(path, data, error)])
    result = FileResult([], facts.classes)
    flags = file_rules(facts)
    waiting = [reg for reg in facts.registrations if waits_on_other_files(reg)]
    if not flags and not waiting:
        return result
    text = text_lines(data)
    findings: dict[tuple[int, int, str, str], Finding] = {}
    for flag in flags:
        line, column, silenced = place(text, flag.line, flag.offset, flag.rule)
        if silenced:
            continue
        key = (line, column, flag.rule, flag.message)
        findings.setdefault(
            key,
            Finding(
                path, line, column, flag.rule, RULES[flag.rule].severity, flag.message, flag.hint
            ),
        )
    result.findings = [findings[key] for key in sorted(findings)]
    for reg in waiting:
        line, column, silenced = place(text, reg.line, reg.offset, "producer-in-widget")
        if not silenced and reg.owner is not None:
            result.pending.append(
                PendingWidgetCheck(
                    path,
                    line,
                    column,
                    reg.label,
                    reg.owner,
                    reg.function or "<class body>",
                    f"{module}.{reg.owner}",
                )
            )
    return result
