"""``mapstore-lint``: the registration guide's rules, checked on source code before it runs.

The runtime doctor (``store.diagnostics()``) finds the guide's anti-patterns while an app
runs; most of them are already visible in the source. This package reads Python files with
the standard library's ``ast`` and reports ``path:line:col: <rule> <message>``, with the
doctor's rule names where they mean the same thing. Run it as ``mapstore-lint PATH...`` or
``python -m mapstore_lint``.

Running it imports no pydantic, Textual or rich, and nothing of the store's runtime: the one
thing it shares with the doctor, ``is_non_descriptive``, comes from ``mapstore_core._ids``
(standard library only; the ``mapstore_core`` root it passes through is lazy).

Shaped like the doctor: facts first, then small pure rules over them.

- ``_source``: the bytes (where the registering names are, on which lines) and ``# noqa``;
- ``_syntax``, ``_names``: AST helpers, and what a module's names refer to from its imports;
- ``_facts``: one walk of the AST into plain records (``Registration``, ``ClassFact``);
- ``_rules``: one pure function per rule over those records; ``_catalogue``: what each catches;
- ``_read``: one path, as hostile input (regular files only, never blocking, at most 5 MiB);
- ``_check``: one file (parse, facts, rules, noqa); ``_cli``: paths, across files, output.
"""

from mapstore_lint._catalogue import PARSE_ERROR, READ_ERROR, RULES, LintRule, LintSeverity
from mapstore_lint._check import lint_source
from mapstore_lint._cli import EXCLUDED_DIRS, iter_python_files, lint_file, lint_paths, main
from mapstore_lint._facts import WIDGET_CHANNELS
from mapstore_lint._findings import Finding
from mapstore_lint._read import MAX_SOURCE_BYTES

__all__ = [
    "EXCLUDED_DIRS",
    "MAX_SOURCE_BYTES",
    "PARSE_ERROR",
    "READ_ERROR",
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
