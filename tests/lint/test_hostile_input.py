"""``mapstore-lint`` treats what it is given as hostile: it answers, it never hangs or crashes.

Each test is one way an outside check broke it: a source Python refuses must say why and where
(never a column below 1), nesting too deep for the parser or for the linter's own walks is a
per-file ``parse-error`` (exit 2, the "could not check" status), not a traceback.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from mapstore_lint import PARSE_ERROR, lint_source, main


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    status = main(list(argv), out=out)
    return status, out.getvalue()


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("data", "line", "column", "message"),
    [
        (b"def broken(:\n", 1, 12, "cannot parse: invalid syntax"),
        (b"#\n# coding: utf-8\nx = 1\x00\n", 1, 1, "cannot parse: source code string cannot"),
        (b"x = '\xff'\n", 1, 8, "cannot parse: (unicode error) 'utf-8' codec can't decode"),
        (b"# -*- coding: no-such-codec -*-\nx = 1\n", 1, 1, "unknown encoding: no-such-codec"),
        (b"#!/usr/bin/env python\n# coding: nope\n", 2, 1, "unknown encoding: nope"),
        (b"\xef\xbb\xbf# coding: latin-1\n", 1, 1, "encoding problem: iso-8859-1 with BOM"),
        (b"x = " + b"-" * 10_000 + b"1\n", 1, 1, "too deeply nested to check: "),
        (b"x = a" + b".a" * 5_000 + b"\n", 1, 1, "too deeply nested to check: maximum recursion"),
    ],
    ids=[
        "syntax",
        "null-byte",
        "bad-utf8",
        "bad-cookie",
        "cookie-line-2",
        "bom-clash",
        "unary",
        "attr",
    ],
)
def test_a_refused_source_says_why_and_where(
    data: bytes, line: int, column: int, message: str
) -> None:
    """The reason is always given; the place is Python's, 1-based, never column -1 or line 0."""
    [finding] = lint_source(data, "odd.py")
    assert (finding.line, finding.column, finding.rule) == (line, column, PARSE_ERROR)
    assert message in finding.message
    assert not finding.message.rstrip().endswith(":")


def test_deep_nesting_in_one_file_is_a_could_not_check_error_and_the_rest_is_checked(
    tmp_path: Path,
) -> None:
    deep = write(tmp_path, "a_deep.py", "x = " + "-" * 10_000 + "1\n")
    later = write(
        tmp_path,
        "b_later.py",
        "import mapstore_core\n\ndef f(store):\n    store.register_producer('m', 'temp').close()\n",
    )
    status, out = run(str(tmp_path))
    assert status == 2
    lines = out.splitlines()
    assert lines[0].startswith(f"{deep}:1:1: parse-error too deeply nested to check: ")
    assert lines[1].startswith(f"{later}:4:34: non-descriptive-id ")
