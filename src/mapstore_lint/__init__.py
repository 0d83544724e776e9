"""``mapstore-lint``: the registration guide's rules, checked on source code before it runs.

The runtime doctor (``store.diagnostics()``) finds the guide's anti-patterns while an app
runs; most of them are already visible in the source. This package reads Python files with
the standard library's ``ast`` (it imports no Textual, rich or pydantic code of its own) and
reports ``path:line:col: <rule> <message>``, with the doctor's rule names where they mean
the same thing. Run it as ``mapstore-lint PATH...`` or ``python -m mapstore_lint``.
"""

from mapstore_lint._checker import WIDGET_CHANNELS, Finding, lint_source
from mapstore_lint._cli import EXCLUDED_DIRS, iter_python_files, lint_file, lint_paths, main
from mapstore_lint._rules import PARSE_ERROR, RULES, LintRule, LintSeverity

__all__ = [
    "EXCLUDED_DIRS",
    "PARSE_ERROR",
    "RULES",
    "WIDGET_CHANNELS",
    "Finding",
    "LintRule",
    "LintSeverity",
    "iter_python_files",
    "lint_file",
    "lint_paths",
    "lint_source",
    "main",
]
