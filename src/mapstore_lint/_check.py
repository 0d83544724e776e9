"""Checking one file: parse it, collect its facts, run the rules, apply ``# noqa``.

A file whose bytes name no registering function is only parsed (and, when other files may
need them, its classes are written down). Findings are sorted by line and column, and the
same finding is reported once.
"""

from __future__ import annotations

import ast

from mapstore_lint._catalogue import PARSE_ERROR, RULES
from mapstore_lint._facts import class_facts_only, collect, registration_lines
from mapstore_lint._findings import FileResult, Finding, PendingWidgetCheck
from mapstore_lint._rules import file_rules, waits_on_other_files
from mapstore_lint._source import place, text_lines

__all__ = ["check_source", "lint_source"]


def _parse_error(path: str, line: int, column: int, message: str) -> Finding:
    return Finding(path, line, column, PARSE_ERROR, "error", message, "fix the file, then re-run")


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
    except SyntaxError as error:
        line = error.lineno or 1
        return FileResult(
            [_parse_error(path, line, error.offset or 1, f"cannot parse: {error.msg}")]
        )
    except (ValueError, RecursionError, MemoryError) as error:
        return FileResult([_parse_error(path, 1, 1, f"cannot parse: {error}")])
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
    except RecursionError:
        return FileResult([_parse_error(path, 1, 1, "cannot check: nested too deeply")])
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
