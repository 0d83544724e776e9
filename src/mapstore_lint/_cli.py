"""The ``mapstore-lint`` command: walk paths, check files, print findings, set the exit status."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import TextIO

from mapstore_lint._catalogue import PARSE_ERROR, READ_ERROR, RULES
from mapstore_lint._check import check_source
from mapstore_lint._findings import FileResult, Finding
from mapstore_lint._read import MAX_SOURCE_BYTES, Unreadable, read_source
from mapstore_lint._rules import producer_in_widget_across_files

__all__ = [
    "EXCLUDED_DIRS",
    "format_finding",
    "iter_python_files",
    "lint_file",
    "lint_paths",
    "main",
]

EXCLUDED_DIRS = frozenset(
    {
        "__pycache__",
        "__pypackages__",
        "_build",
        "buck-out",
        "build",
        "dist",
        "node_modules",
        "site-packages",
        "venv",
    }
)
"""Directory names never entered while walking (hidden directories are skipped too)."""

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
_NOT_CHECKED = frozenset({PARSE_ERROR, READ_ERROR})


def iter_python_files(paths: Iterable[str], errors: list[str] | None = None) -> Iterator[str]:
    """The files to check, in a stable order: each file given, and every ``*.py`` under each dir.

    While walking, hidden directories (``.venv``, ``.git``, ``.tox``...), ``EXCLUDED_DIRS``,
    symbolic links and whatever is not a regular file (a FIFO, a socket) are skipped; a path
    given explicitly is always yielded (reading it says whether it can be checked). A path
    that does not exist is added to ``errors`` (when given) and skipped.
    """
    missing: list[str] = []
    yield from _targets(paths, missing)
    if errors is not None:
        errors.extend(f"{path}: no such file or directory" for path in missing)


def _targets(paths: Iterable[str], missing: list[str]) -> Iterator[str]:
    for path in paths:
        if os.path.isdir(path):
            yield from _walk(path)
        elif os.path.exists(path):
            yield path
        else:
            missing.append(path)


def _walk(directory: str) -> Iterator[str]:
    """``*.py`` files under ``directory``, sorted, without following symbolic links.

    Depth first, each directory's files before its subdirectories; the walk keeps its own
    stack, so a tree deeper than Python's recursion limit is walked all the same.
    """
    stack = [directory]
    while stack:
        try:
            with os.scandir(stack.pop()) as scan:
                entries = sorted(scan, key=lambda entry: entry.name)
        except OSError:
            continue
        subdirectories: list[str] = []
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                if name not in EXCLUDED_DIRS:
                    subdirectories.append(entry.path)
            elif name.endswith(".py") and entry.is_file(follow_symlinks=False):
                yield entry.path
        stack.extend(reversed(subdirectories))


def lint_paths(paths: Iterable[str]) -> tuple[list[Finding], int]:
    """Check every Python file under ``paths``; returns (findings, number of files checked).

    A path that is not read (missing, not a regular file, over ``MAX_SOURCE_BYTES``,
    unreadable) gives a ``read-error`` finding, a file that does not parse a ``parse-error``;
    the others are still checked. A class whose base is defined in another checked file
    (``from app.widgets import Chart``) is judged with that file's facts: its module name
    comes from the ``__init__.py`` files around it.
    """
    results: list[FileResult] = []
    missing: list[str] = []
    packages: dict[str, str | None] = {}
    order: dict[str, int] = {}
    for path in _targets(paths, missing):
        order.setdefault(path, len(order))
        results.append(_check_file(path, _module_name(path, packages)))
    facts = [fact for result in results for fact in result.facts]
    pending = [item for result in results for item in result.pending]
    across = producer_in_widget_across_files(facts, pending) if pending else []
    findings = [finding for result in results for finding in result.findings]
    if across:
        findings = sorted(
            findings + across, key=lambda f: (order.get(f.path, 0), f.line, f.column, f.rule)
        )
    findings.extend(_read_error(path, "no such file or directory") for path in missing)
    return findings, len(results)


def _package_of(directory: str, cache: dict[str, str | None]) -> str | None:
    """The dotted package a directory is, or None when it has no ``__init__.py``.

    Climbs the parents in a loop: a tree can be deeper than Python's recursion limit.
    """
    below: list[str] = []  # packages whose parent's package is not known yet, nearest last
    current = directory
    above: str | None = None
    while current not in cache:
        if not os.path.isfile(os.path.join(current, "__init__.py")):
            cache[current] = None
            break
        below.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    else:
        above = cache[current]
    for path in reversed(below):
        name = os.path.basename(path)
        above = cache[path] = f"{above}.{name}" if above else name
    return cache[directory]


def _module_name(path: str, cache: dict[str, str | None]) -> str:
    directory = os.path.dirname(os.path.abspath(path))
    package = _package_of(directory, cache)
    stem = os.path.basename(path).rsplit(".", 1)[0]
    if stem == "__init__" and package:
        return package
    return f"{package}.{stem}" if package else stem


def _read_error(path: str, reason: str) -> Finding:
    return Finding(path, 1, 1, READ_ERROR, "error", reason, "check the path")


def _check_file(path: str, module: str | None) -> FileResult:
    try:
        source = read_source(path)
    except Unreadable as error:
        return FileResult([_read_error(path, str(error))])
    return check_source(source, path, module)


def lint_file(path: str) -> list[Finding]:
    """Check one file on its own; one that is not read gives a single ``read-error`` finding."""
    return _check_file(path, None).findings


def _rule_list(values: Sequence[str] | None, option: str) -> set[str] | None:
    if not values:
        return None
    chosen = {name.strip() for value in values for name in value.split(",") if name.strip()}
    unknown = sorted(chosen - RULES.keys())
    if unknown:
        raise ValueError(f"{option}: unknown rule {', '.join(unknown)} (rules: {', '.join(RULES)})")
    return chosen


def _github_escape(text: str, *, property_value: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def format_finding(finding: Finding, style: str) -> str:
    """One finding in ``text`` or ``github`` form (``json`` is written as one array).

    A ``read-error`` has no place in the file, so neither form gives it one.
    """
    placed = finding.rule != READ_ERROR
    if style == "github":
        level = "error" if finding.severity == "error" else "warning"
        props = [f"file={_github_escape(finding.path, property_value=True)}"]
        if placed:
            props += [f"line={finding.line}", f"col={finding.column}"]
        props.append(
            f"title={_github_escape('mapstore-lint ' + finding.rule, property_value=True)}"
        )
        body = _github_escape(f"{finding.rule}: {finding.message}; {finding.hint}")
        return f"::{level} {','.join(props)}::{body}"
    where = f"{finding.path}:{finding.line}:{finding.column}" if placed else finding.path
    return f"{where}: {finding.rule} {finding.message}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mapstore-lint",
        description="Check Python sources against the mapstore registration guide.",
        epilog="Exit status: 0 clean, 1 findings, 2 a usage error or a path that could not be "
        f"checked (missing, not a regular file, over {MAX_SOURCE_BYTES >> 20} MiB, unreadable, "
        "not parsed or nested too deeply). Silence one line with '# noqa: <rule>' (or a bare "
        "'# noqa').",
    )
    parser.add_argument(
        "paths", nargs="*", metavar="PATH", help="files or directories (default: .)"
    )
    parser.add_argument(
        "--format",
        choices=("text", "json", "github"),
        default="text",
        help="text (path:line:col: rule message), json (one array) or github (annotations)",
    )
    parser.add_argument(
        "--select", action="append", metavar="RULES", help="only these rules (comma-separated)"
    )
    parser.add_argument(
        "--ignore", action="append", metavar="RULES", help="skip these rules (comma-separated)"
    )
    parser.add_argument(
        "--list-rules", action="store_true", help="print each rule and what it catches, then exit"
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="no summary line on stderr")
    return parser


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Run ``mapstore-lint``; returns the exit status (0 clean, 1 findings, 2 errors)."""
    stdout = out or sys.stdout
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        select = _rule_list(args.select, "--select")
        ignore = _rule_list(args.ignore, "--ignore") or set()
    except ValueError as error:
        parser.error(str(error))
    if args.list_rules:
        for rule in RULES.values():
            runtime = f" (doctor: {rule.runtime})" if rule.runtime else ""
            stdout.write(f"{rule.name} [{rule.severity}]{runtime}: {rule.catches}\n")
        return EXIT_CLEAN
    findings, count = lint_paths(args.paths or ["."])
    shown = [
        f
        for f in findings
        if f.rule in _NOT_CHECKED or ((select is None or f.rule in select) and f.rule not in ignore)
    ]
    if args.format == "json":
        json.dump([f.to_dict() for f in shown], stdout, indent=2)
        stdout.write("\n")
    else:
        for finding in shown:
            stdout.write(format_finding(finding, args.format) + "\n")
    errors = sum(1 for f in shown if f.rule in _NOT_CHECKED)
    if not args.quiet:
        files = "file" if count == 1 else "files"
        print(
            f"mapstore-lint: {len(shown) - errors} finding(s), "
            f"{errors} file(s) not read or not parsed, {count} {files} checked",
            file=sys.stderr,
        )
    if errors:
        return EXIT_ERROR
    return EXIT_FINDINGS if shown else EXIT_CLEAN
