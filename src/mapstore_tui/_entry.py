"""The ``mapstore-tui`` command's front door: say which extra is missing, in one line.

The command is installed with every ``mapstore``, but the panel needs the ``tui`` extra
(Textual, rich), and ``mapstore-tui web`` the ``web`` extra too (textual-serve). This module
imports none of them: it looks for them first, and only then loads the command line
(``cli``), which needs them.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence

__all__ = ["main", "missing", "missing_extra", "missing_tui"]

TUI_MODULES = ("textual", "rich")
WEB_MODULES = ("textual_serve", "aiohttp", "aiohttp_jinja2")


def missing_tui() -> list[str]:
    """The modules of the ``tui`` extra that cannot be imported here."""
    return missing(TUI_MODULES)


def missing(modules: Sequence[str]) -> list[str]:
    """Those of ``modules`` that cannot be imported here (found, not imported)."""
    absent = []
    for name in modules:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # a module set to None in sys.modules
            found = False
        if not found:
            absent.append(name)
    return absent


def missing_extra(what: str, extra: str, modules: Sequence[str]) -> str | None:
    """The one line saying that ``what`` needs ``extra``, or None when nothing is missing."""
    absent = missing(modules)
    if not absent:
        return None
    return (
        f"mapstore-tui: {what} needs the {extra} extra ({' and '.join(absent)} "
        f"{'is' if len(absent) == 1 else 'are'} missing): pip install 'mapstore[{extra}]'"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``mapstore-tui``, or say in one line which extra to install (exit status 2)."""
    line = missing_extra("the panel", "tui", TUI_MODULES)
    if line is None and (sys.argv[1:] if argv is None else list(argv))[:1] == ["web"]:
        line = missing_extra("the browser panel", "web", WEB_MODULES)
    if line is not None:
        print(line, file=sys.stderr)
        return 2
    from mapstore_tui.cli import main as run

    return run(argv)
