"""The README's Python examples run as written, and print what the README says they print.

Blocks fenced as ``python`` run, in order, in one namespace; ``py`` marks a snippet that is
only shown (one that would start the interactive app, say).
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from mapstore_tui.cli import main

README = Path(__file__).resolve().parent.parent / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks() -> list[tuple[str, int, str, str]]:
    """(language, first code line number, code, text after the block up to the next one)."""
    text = README.read_text(encoding="utf-8")
    found = []
    matches = list(FENCE.finditer(text))
    for index, match in enumerate(matches):
        line = text.count("\n", 0, match.start(2)) + 1
        after_end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        found.append((match.group(1), line, match.group(2), text[match.end() : after_end]))
    return found


def test_python_examples_run_and_print_what_the_readme_says(monkeypatch) -> None:
    monkeypatch.chdir(README.parent)  # registered_at is then "README.md:<line>"
    namespace: dict[str, object] = {"__name__": "readme"}
    all_blocks = blocks()
    checked = 0
    for index, (language, line, code, after) in enumerate(all_blocks):
        if language != "python":
            continue
        out = io.StringIO()
        compiled = compile("\n" * (line - 1) + code, "README.md", "exec")
        with contextlib.redirect_stdout(out):
            exec(compiled, namespace)
        printed = out.getvalue()
        if after.strip() == "prints":
            expected = all_blocks[index + 1]
            assert expected[0] == "text"
            assert printed == expected[2], f"README block at line {line}"
            checked += 1
        elif after.strip().startswith("prints `"):
            assert printed.strip() == after.strip().split("`")[1], f"README block at line {line}"
            checked += 1
    assert checked == 4  # every example that says what it prints was checked


def test_log_producers_section_matches_the_demo(capsys) -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Log Producers", 1)[1]
    shown = FENCE.search(section)
    assert shown is not None
    main(["log-producers", "--demo"])
    assert capsys.readouterr().out == shown.group(2)


def test_the_two_commands_open_the_readme() -> None:
    head = README.read_text(encoding="utf-8").split("## ", 1)[0]
    assert ".venv/bin/mapstore-tui demo" in head
    assert ".venv/bin/python -m pytest" in head
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    command = re.search(r"^(python3 -m venv .venv && .*pytest)$", head, re.MULTILINE)
    assert command is not None and command.group(1).replace(" -e ", " -q -e ") in ci
