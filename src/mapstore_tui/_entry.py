"""The ``mapstore-tui`` command's front door: say which extra is missing, in one line.

The command is installed with every ``mapstore``, but the panel needs the ``tui`` extra
(Textual, rich). This module imports neither: it looks for them first, and only then loads
the command line (``cli``), which needs them.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence

__all__ = ["main", "missing_tui"]

TUI_MODULES = ("textual", "rich")


def missing_tui() -> list[str]:
    """The modules of the ``tui`` extra that cannot be imported here."""
    missing = []
    for name in TUI_MODULES:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # a module set to None in sys.modules
            found = False
        if not found:
            missing.append(name)
    return missing


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``mapstore-tui``, or say in one line which extra to install (exit status 2)."""
    missing = missing_tui()
    if missing:
        print(
            f"mapstore-tui: the panel needs the tui extra ({' and '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} missing): "
            "pip install 'mapstore[tui]'",
            file=sys.stderr,
        )
        return 2
    from mapstore_tui.cli import main as run

    return run(argv)
