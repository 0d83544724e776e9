"""What the linter reports: a ``Finding`` per problem, and what one file's check gives back."""

from __future__ import annotations

from dataclasses import dataclass, field

from mapstore_lint._catalogue import LintSeverity
from mapstore_lint._facts import ClassFact

__all__ = ["FileResult", "Finding", "PendingWidgetCheck"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem at one place: ``path:line:column: rule message``.

    ``line`` and ``column`` are 1-based, the column counted in characters (as ruff and
    flake8 print them). ``rule`` is a rule name, or one of the two ways a file is not
    checked: ``parse-error`` (at the place Python gives, else 1:1) or ``read-error`` (a path
    not read; at 1:1, and printed as ``path: read-error ...``, for it has no place).
    """

    path: str
    line: int
    column: int
    rule: str
    severity: LintSeverity
    message: str
    hint: str

    def to_dict(self) -> dict[str, str | int]:
        """The finding as JSON-ready data (the ``--format json`` record)."""
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "hint": self.hint,
        }


@dataclass(frozen=True, slots=True)
class PendingWidgetCheck:
    """A registration in a class whose bases come from other files: decided across files."""

    path: str
    line: int
    column: int
    label: str
    owner: str
    method: str
    qualname: str


@dataclass(slots=True)
class FileResult:
    """One file's findings, its class facts and its registrations that wait on other files."""

    findings: list[Finding]
    facts: list[ClassFact] = field(default_factory=list)
    pending: list[PendingWidgetCheck] = field(default_factory=list)
