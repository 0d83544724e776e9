"""The linter's former address: ``mapstore-lint`` is the top-level package ``mapstore_lint``.

Kept, without a warning, because the README documented ``python -m mapstore_core.lint``:
``from mapstore_core.lint import lint_source`` and ``python -m mapstore_core.lint PATH`` work
as before and load the same code (still without pydantic).
"""

from mapstore_lint import (
    EXCLUDED_DIRS,
    PARSE_ERROR,
    RULES,
    WIDGET_CHANNELS,
    Finding,
    LintRule,
    LintSeverity,
    iter_python_files,
    lint_file,
    lint_paths,
    lint_source,
    main,
)

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
