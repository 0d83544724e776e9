"""Running the linter loads no pydantic and nothing of the store runtime (SPEC 10).

It shares one function with the runtime, ``is_non_descriptive``, from the stdlib-only
``mapstore_core._ids``; the package root it passes through is lazy and loads nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BAD = (
    "import mapstore_core\n\n"
    'def f(store):\n    return store.register_producer("metric-data", "producer1")\n'
)
HEAVY = {"pydantic", "pydantic_core", "textual", "rich", "asyncio", "mapstore_tui"}
# The package root (lazy; it loads its small, stdlib-only `_public`) and the one shared rule.
ALLOWED_CORE = [
    "mapstore_core",
    "mapstore_core._ids",
    "mapstore_core._public",
    "mapstore_core._version",
]


def write_bad(tmp_path: Path) -> Path:
    path = tmp_path / "bad.py"
    path.write_text(BAD, encoding="utf-8")
    return path


def test_the_command_imports_no_pydantic(tmp_path: Path) -> None:
    """The ``mapstore-lint`` console script, its imports listed by ``-X importtime``."""
    command = Path(sys.executable).with_name("mapstore-lint")
    assert command.exists(), "the package is installed with its console script"
    done = subprocess.run(
        [str(command), "--quiet", str(write_bad(tmp_path))],
        env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1, done.stderr
    assert "producer1" in done.stdout
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "mapstore_lint" in imported
    assert {m for m in imported if m.split(".")[0] in HEAVY} == set()
    assert sorted(m for m in imported if m.startswith("mapstore_core")) == ALLOWED_CORE


def test_main_in_process_leaves_pydantic_out_of_sys_modules(tmp_path: Path) -> None:
    code = (
        "import json, sys, mapstore_lint\n"
        "status = mapstore_lint.main(['--quiet', sys.argv[1]])\n"
        "print(json.dumps([status, sorted(sys.modules)]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(write_bad(tmp_path))], capture_output=True, text=True
    )
    status, modules = json.loads(done.stdout.splitlines()[-1])
    assert status == 1, done.stderr
    assert [m for m in modules if m.split(".")[0] in HEAVY] == []
    core = [m for m in modules if m.startswith("mapstore_core")]
    assert sorted(core) == ALLOWED_CORE
