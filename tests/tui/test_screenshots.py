"""screenshots/ holds exactly the snapshot suite's images, and the README shows them."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _names() -> dict[str, str]:
    spec = importlib.util.spec_from_file_location(
        "update_screenshots", ROOT / "scripts" / "update_screenshots.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    names: dict[str, str] = module.NAMES
    return names


def test_screenshots_are_the_current_snapshots() -> None:
    snapshots = ROOT / "tests" / "tui" / "__snapshots__" / "test_snapshots"
    stale = [
        name
        for snapshot, name in _names().items()
        if (ROOT / "screenshots" / name).read_bytes() != (snapshots / snapshot).read_bytes()
    ]
    assert stale == [], "run scripts/update_screenshots.py"


def test_readme_shows_every_screenshot() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name in _names().values() if f"screenshots/{name}" not in readme]
    assert missing == []
