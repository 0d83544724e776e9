"""Install what you use: the store alone needs pydantic; each command says which extra it lacks.

A missing extra is made real for the code under test by setting its modules to None in
``sys.modules``, which is how Python itself reports a module that cannot be imported.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def run_without(modules: list[str], code: str) -> subprocess.CompletedProcess[str]:
    blocked = "".join(f"sys.modules[{name!r}] = None\n" for name in modules)
    return subprocess.run(
        [sys.executable, "-c", f"import sys\n{blocked}{code}"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def test_the_base_install_is_pydantic_alone_and_each_part_has_its_extra() -> None:
    project = PYPROJECT["project"]
    assert [req.split(">")[0] for req in project["dependencies"]] == ["pydantic"]
    extras = project["optional-dependencies"]
    assert {req.split(">")[0] for req in extras["tui"]} == {"textual", "rich"}
    assert {req.split(">")[0] for req in extras["redis"]} == {"redis", "hiredis"}
    assert "mapstore[tui,redis]" in extras["dev"]
    assert project["scripts"]["mapstore-tui"] == "mapstore_tui._entry:main"


def test_the_store_records_replays_and_lints_without_the_panel_or_redis(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from mapstore_core import map_store\n"
        "def render():\n"
        "    map_store.register_producer('metric-data', 'p')\n",
        encoding="utf-8",
    )
    done = run_without(
        ["textual", "rich", "redis", "hiredis"],
        "from mapstore_core import MapObjectStore, open_recording\n"
        "import mapstore_lint\n"
        "store = MapObjectStore()\n"
        "with store.record(sys.argv[1] if len(sys.argv) > 1 else "
        f"{str(tmp_path / 'r.jsonl')!r}):\n"
        "    store.register_producer('prices', 'feed').publish(1)\n"
        f"print(open_recording({str(tmp_path / 'r.jsonl')!r}).state_at(-1).values('prices'))\n"
        f"print(mapstore_lint.main([{str(bad)!r}]))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('textual', 'rich', 'redis') and sys.modules[m] is not None))\n",
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "{'feed': 1}"
    assert any("missing-cleanup" in line for line in lines[1:-2])
    assert lines[-2:] == ["1", "[]"]


def test_the_panel_without_its_extra_says_which_to_install_in_one_line() -> None:
    for code in (
        "from mapstore_tui._entry import main\nraise SystemExit(main(['demo']))",
        "import runpy\nrunpy.run_module('mapstore_tui', run_name='__main__')",
    ):
        done = run_without(["textual"], code)
        assert done.returncode == 2
        assert done.stdout == ""
        assert done.stderr == (
            "mapstore-tui: the panel needs the tui extra (textual is missing): "
            "pip install 'mapstore[tui]'\n"
        )


def test_the_link_without_its_extra_says_which_to_install() -> None:
    done = run_without(
        ["redis"],
        "from mapstore_core import MapObjectStore, LinkError\n"
        "try:\n"
        "    MapObjectStore().link('redis://127.0.0.1:1/0')\n"
        "except LinkError as exc:\n"
        "    print(exc)\n",
    )
    assert done.returncode == 0, done.stderr
    assert "mapstore[redis]" in done.stdout
