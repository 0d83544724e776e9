"""Reading the corpus's expectations: `# expect: <rule> at <text>` on the line of a finding."""

from __future__ import annotations

import re
from pathlib import Path

CORPUS = Path(__file__).parent / "corpus"
SRC = Path(__file__).resolve().parents[2] / "src"
EXPECT = re.compile(r"# expect: (?P<rule>[a-z-]+) at (?P<anchor>.+?)\s*$")


def locate(text: str, snippet: str, after: str | None = None) -> tuple[int, int]:
    """(line, column), both 1-based, of ``snippet`` (first found after ``after`` if given)."""
    start = text.index(after) if after is not None else 0
    index = text.index(snippet, start)
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column


def expected(path: Path) -> set[tuple[int, int, str]]:
    """(line, column, rule) for every marker in a corpus file."""
    found: set[tuple[int, int, str]] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = EXPECT.search(line)
        if match is None:
            continue
        code = line[: line.index("# expect:")]
        column = code.index(match["anchor"]) + 1
        found.add((number, column, match["rule"]))
    return found
