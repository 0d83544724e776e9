"""The panel never imports its demo: the demo's modules load only for the demo's commands."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import mapstore_tui

PANEL_PACKAGES = ("mapstore_tui.screens", "mapstore_tui.widgets")
PANEL_MODULES = (
    "mapstore_tui.app",
    "mapstore_tui.monitor",
    "mapstore_tui.view",
    "mapstore_tui.remote_view",
    "mapstore_tui.replay_view",
    "mapstore_tui.replay_app",
    "mapstore_tui.feed",
    "mapstore_tui.cli",
)


def demo_modules_after(code: str) -> list[str]:
    probe = (
        f"{code}\nimport json, sys\n"
        "print(json.dumps(sorted(m for m in sys.modules "
        "if m.startswith(('mapstore_tui.demo', 'mapstore_tui.fleet')))))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    found: list[str] = json.loads(done.stdout.splitlines()[-1])
    return found


def test_embedding_the_panel_loads_no_demo() -> None:
    assert demo_modules_after("import mapstore_tui; from mapstore_tui import MapStoreApp") == []


def test_no_module_of_the_panel_loads_the_demo() -> None:
    root = Path(mapstore_tui.__file__).parent
    modules = list(PANEL_MODULES)
    for package in PANEL_PACKAGES:
        directory = root.joinpath(*package.split(".")[1:])
        modules += [f"{package}.{info.name}" for info in pkgutil.iter_modules([str(directory)])]
    assert "mapstore_tui.widgets.previews" in modules
    code = "\n".join(f"import {module}" for module in modules)
    assert demo_modules_after(code) == []


def test_the_demo_command_still_finds_its_demo(capsys) -> None:
    from mapstore_tui.cli import main

    assert main(["log-producers", "--demo"]) == 0
    assert "user-input-form" in capsys.readouterr().out
