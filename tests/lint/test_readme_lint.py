"""The Lint page shows what the linter really prints, and the doctor's table agrees."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from mapstore_lint import RULES, main

ROOT = Path(__file__).resolve().parents[2]
PAGES = {"Lint": ROOT / "docs" / "lint.md", "The doctor": ROOT / "docs" / "doctor.md"}


def section(title: str) -> str:
    """The page's text up to its first subsection."""
    text = PAGES[title].read_text(encoding="utf-8")
    return text.split("\n## ", 1)[0]


def test_the_shown_output_is_what_the_demo_gives(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    shown = re.search(r"it prints.*?\n```text\n(.*?)```", section("Lint"), re.DOTALL)
    assert shown is not None
    out = io.StringIO()
    assert main(["--quiet", "src/mapstore_tui/demo/antipatterns.py"], out=out) == 1
    assert out.getvalue() == shown.group(1)


def test_every_rule_is_described_and_the_doctor_table_says_which_are_static() -> None:
    lint = section("Lint")
    for name in RULES:
        assert f"| `{name}` |" in lint
    doctor = section("The doctor")
    assert "also static" in doctor
    rows = {
        line.split("|")[1].strip(" `"): line.split("|")[-2].strip()
        for line in doctor.splitlines()
        if line.startswith("| `")
    }
    for name, rule in RULES.items():
        assert rows[rule.runtime or name].startswith("yes"), name
    assert rows["leaked-producer"] == "yes, as `missing-cleanup`"
    assert rows["job-failed"].startswith("no")
