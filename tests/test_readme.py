"""The README's and the docs' Python examples run as written, and print what they say.

In each file (README.md, every page of docs/), blocks fenced as ``python`` run, in order, in
one namespace; ``py`` marks a snippet that is only shown (one that would start the
interactive app, say).
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from mapstore_tui.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(page: Path = README) -> list[tuple[str, int, str, str]]:
    """(language, first code line number, code, text after the block up to the next one)."""
    text = page.read_text(encoding="utf-8")
    found = []
    matches = list(FENCE.finditer(text))
    for index, match in enumerate(matches):
        line = text.count("\n", 0, match.start(2)) + 1
        after_end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        found.append((match.group(1), line, match.group(2), text[match.end() : after_end]))
    return found


def test_python_examples_run_and_print_what_the_docs_say(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)  # registered_at is then "README.md:<line>", "docs/…md:<line>"
    checked = 0
    for page in PAGES:
        checked += run_page(page)
    assert checked == 6  # every example that says what it prints was checked


def run_page(page: Path) -> int:
    """Run a page's ``python`` blocks; return how many said what they print (and did)."""
    namespace: dict[str, object] = {"__name__": "readme"}
    all_blocks = blocks(page)
    name = str(page.relative_to(ROOT))
    checked = 0
    for index, (language, line, code, after) in enumerate(all_blocks):
        if language != "python":
            continue
        out = io.StringIO()
        compiled = compile("\n" * (line - 1) + code, name, "exec")
        with contextlib.redirect_stdout(out):
            exec(compiled, namespace)
        printed = out.getvalue()
        if after.strip() == "prints":
            expected = all_blocks[index + 1]
            assert expected[0] == "text"
            assert printed == expected[2], f"{name} block at line {line}"
            checked += 1
        elif after.strip().startswith("prints `"):
            assert printed.strip() == after.strip().split("`")[1], f"{name} block at line {line}"
            checked += 1
    return checked


def test_log_producers_section_matches_the_demo(capsys) -> None:
    section = (ROOT / "docs" / "log-producers.md").read_text(encoding="utf-8")
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


def test_every_public_name_is_on_the_api_page() -> None:
    import mapstore_core

    api = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    assert [name for name in mapstore_core.__all__ if f"`{name}" not in api] == []


def test_the_readme_is_short_and_links_every_page_of_the_docs() -> None:
    readme = README.read_text(encoding="utf-8")
    assert readme.count("\n") <= 250
    pages = sorted(p.name for p in (ROOT / "docs").glob("*.md") if p.name != "index.md")
    assert [page for page in pages if f"(docs/{page})" not in readme] == []
