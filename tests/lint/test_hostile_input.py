"""``mapstore-lint`` treats what it is given as hostile: it answers, it never hangs or crashes.

Each test is one way an outside check broke it: a source Python refuses must say why and where
(never a column below 1), nesting too deep for the parser or for the linter's own walks is a
per-file ``parse-error`` (exit 2, the "could not check" status), not a traceback; a FIFO, a
device, a file over the size cap or a missing path is a ``read-error`` line, never a hang.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mapstore_lint import MAX_SOURCE_BYTES, PARSE_ERROR, lint_source, main

BAD = "import mapstore_core\n\ndef f(store):\n    store.register_producer('m', 'temp').close()\n"


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


def test_a_long_chain_of_classes_across_files_is_checked_without_a_traceback(
    tmp_path: Path,
) -> None:
    """1,500 classes, each the subclass of the one before, the first a consumer-only base from
    another file: the linter follows the chain without recursing, and says it briefly."""
    write(tmp_path, "app/__init__.py", "")
    write(
        tmp_path,
        "app/base.py",
        "from mapstore_core import consumer_only\n\n@consumer_only\nclass C0:\n    pass\n",
    )
    chain = "".join(f"class C{i}(C{i - 1}):\n    pass\n" for i in range(1, 1500))
    mod = write(
        tmp_path,
        "app/mod.py",
        "from mapstore_core import MapObjectStore\nfrom app.base import C0\n"
        + chain
        + "class Last(C1499):\n    def on_mount(self, store: MapObjectStore):\n"
        "        with store.register_producer('a', 'a-feed'):\n            pass\n",
    )
    status, out = run(str(tmp_path))
    assert status == 1
    [line] = out.splitlines()
    assert line.startswith(f"{mod}:3003:14: producer-in-widget register_producer() in Last.")
    assert line.endswith(
        ": Last is a subclass of C1499 (app.mod), a subclass of C1498 (app.mod), a subclass of "
        "C1497 (app.mod), 1497 more bases up the chain, marked @consumer_only, and widgets "
        "consume only"
    )


def test_a_long_chain_of_classes_in_one_file_is_named_briefly() -> None:
    """The chain's text is bounded: written out in full it grew with the square of its length
    (20,000 classes, a 500 KB file, took 12 s and 4 GB)."""
    chain = "".join(f"class C{i}(C{i - 1}): pass\n" for i in range(1, 3000))
    code = (
        "from mapstore_core import consumer_only\n@consumer_only\nclass C0: pass\n"
        + chain
        + "class Last(C2999):\n    def on_mount(self, store):\n"
        "        with store.register_producer('a', 'a-feed'):\n            pass\n"
    )
    [finding] = lint_source(code)
    assert finding.message == (
        "register_producer() in Last.on_mount: Last is a subclass of C2999, a subclass of "
        "C2998, a subclass of C2997, 2997 more bases up the chain, marked @consumer_only, and "
        "widgets consume only"
    )


def test_a_cycle_of_bases_across_files_ends(tmp_path: Path) -> None:
    write(tmp_path, "app/__init__.py", "")
    write(tmp_path, "app/a.py", "from app.b import B\n\nclass A(B):\n    pass\n")
    write(
        tmp_path,
        "app/b.py",
        "import mapstore_core\nfrom app.a import A\n\nclass B(A):\n"
        "    def on_mount(self, store):\n"
        "        with store.register_producer('a', 'a-feed'):\n            pass\n",
    )
    assert run(str(tmp_path)) == (0, "")


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


@pytest.mark.parametrize(
    "code",
    [
        "import mapstore_core\ndef f(store):\n"
        "    store{chain}.register_producer('m', 'temp').close()\n",
        "import mapstore_core as ms\nclass C(ms{chain}):\n    def f(self, store):\n"
        "        store.register_producer('m', 'temp').close()\n",
    ],
    ids=["store-expression", "class-base"],
)
def test_what_the_parser_accepts_the_linter_reads_without_recursing(code: str) -> None:
    """1,500 attributes in a row parse; the linter follows them in a loop, and checks the file."""
    findings = lint_source(code.format(chain=".a" * 1_500))
    assert [f.rule for f in findings] == ["non-descriptive-id"]


def _stack_depth() -> int:
    frame, depth = sys._getframe(1), 1
    while frame.f_back is not None:
        frame, depth = frame.f_back, depth + 1
    return depth


def test_a_tree_deeper_than_the_recursion_limit_is_walked(tmp_path: Path) -> None:
    """Nested packages deeper than the recursion limit: the walk and the package names climb
    in loops. The limit is lowered to 100 frames above this test's own, so that a tree of 300
    levels (quick to build, and for pytest to remove) is well beyond it."""
    directory = tmp_path
    for _ in range(300):
        directory /= "d"
        directory.mkdir()
        (directory / "__init__.py").touch()
    deep = write(directory, "m.py", BAD)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(_stack_depth() + 100)
    try:
        status, out = run("--quiet", str(tmp_path))
    finally:
        sys.setrecursionlimit(limit)
    assert status == 1
    assert out.startswith(f"{deep}:4:34: non-descriptive-id ")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_reported_not_read(tmp_path: Path) -> None:
    """Named on the command line, a FIFO blocked ``open()`` forever; while walking, one named
    ``*.py`` is skipped like every other file that is not regular. Run in a subprocess: a
    regression hangs until the timeout instead of hanging the test run."""
    fifo = tmp_path / "pipe.py"
    os.mkfifo(fifo)
    bad = write(tmp_path, "bad.py", BAD)
    done = subprocess.run(
        [sys.executable, "-m", "mapstore_lint", "--quiet", str(fifo), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout.splitlines() == [
        f"{fifo}: read-error not a regular file (a FIFO)",
        f"{bad}:4:34: non-descriptive-id producer id 'temp' does not say which data source it is",
    ]


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="no /dev/null here")
def test_a_device_is_reported_not_read() -> None:
    assert run("/dev/null") == (
        2,
        "/dev/null: read-error not a regular file (a character device)\n",
    )


def test_a_file_over_the_size_cap_is_reported_not_read(tmp_path: Path) -> None:
    """A sparse file just over the cap: no disk written, and nothing of it read or parsed."""
    big = tmp_path / "big.py"
    with big.open("wb") as file:
        file.truncate(MAX_SOURCE_BYTES + 1)
    bad = write(tmp_path, "bad.py", BAD)
    status, out = run(str(big), str(bad))
    assert status == 2
    assert out.splitlines()[0] == f"{big}: read-error too large to check (5.1 MiB > 5 MiB)"
    assert out.splitlines()[1].startswith(f"{bad}:4:34: non-descriptive-id ")


def test_a_file_at_the_size_cap_is_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mapstore_lint._read.MAX_SOURCE_BYTES", len(BAD))
    bad = write(tmp_path, "bad.py", BAD)
    assert run(str(bad))[0] == 1
    bigger = write(tmp_path, "bigger.py", BAD + "\n")
    assert run(str(bigger)) == (
        2,
        f"{bigger}: read-error too large to check ({len(BAD) + 1} bytes > {len(BAD)} bytes)\n",
    )


def test_a_missing_path_is_a_read_error_with_no_place(tmp_path: Path) -> None:
    """It used to read ``nonexistent_dir:1:1: parse-error ...``: there is nothing to parse."""
    missing = tmp_path / "nonexistent_dir"
    assert run(str(missing)) == (2, f"{missing}: read-error no such file or directory\n")
    status, out = run("--format", "json", str(missing))
    assert status == 2
    assert json.loads(out) == [
        {
            "path": str(missing),
            "line": 1,
            "column": 1,
            "rule": "read-error",
            "severity": "error",
            "message": "no such file or directory",
            "hint": "check the path",
        }
    ]
    status, out = run("--format", "github", str(missing))
    assert out.startswith(f"::error file={missing},title=mapstore-lint read-error::")
    # not a rule: --select and --ignore do not hide it
    assert run("--select", "missing-cleanup", str(missing))[0] == 2


def test_an_unreadable_file_is_a_read_error(tmp_path: Path) -> None:
    locked = write(tmp_path, "locked.py", BAD)
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):
            pytest.skip("running as a user who reads every file")
        assert run(str(locked)) == (2, f"{locked}: read-error cannot read: Permission denied\n")
    finally:
        locked.chmod(0o600)


FOREIGN = """\
{header}
class Broker:
    def register_producer(self, topic, name): ...


broker = Broker()


def start():
    {inner}
    feed = broker.register_producer("metric-data", "producer1")
    for topic in ("a", "b"):
        broker.register_producer(topic, "temp")
"""


@pytest.mark.parametrize(
    ("header", "inner"),
    [
        ("", "pass"),
        ("# not mapstore_core's broker", "pass"),
        ("from myapp import mapstore_core", "pass"),
        ("", "print('mapstore_core')"),
    ],
    ids=["no-import", "a-comment", "another-package", "a-string"],
)
def test_register_producer_in_a_file_that_does_not_import_mapstore_is_not_ours(
    header: str, inner: str
) -> None:
    """A file's own ``broker.register_producer()`` gave five findings about mapstore's."""
    assert lint_source(FOREIGN.format(header=header, inner=inner)) == []


@pytest.mark.parametrize(
    ("header", "inner"),
    [
        ("import mapstore_core", "pass"),
        ("from mapstore_core import MapObjectStore", "pass"),
        ("import mapstore_core.plumbing as plumbing", "pass"),
        ("from mapstore_core import *", "pass"),
        ("", "from mapstore_core import map_store"),
    ],
    ids=["import", "from-import", "submodule", "star", "in-a-function"],
)
def test_a_file_that_imports_mapstore_anywhere_is_checked(header: str, inner: str) -> None:
    rules = [f.rule for f in lint_source(FOREIGN.format(header=header, inner=inner))]
    assert rules == [
        "missing-cleanup",
        "unvalidated-publish",
        "non-descriptive-id",
        "missing-cleanup",
        "registration-churn",
        "non-descriptive-id",
    ]
