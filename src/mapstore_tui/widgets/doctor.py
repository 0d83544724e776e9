"""The doctor panel: live findings with where they come from and a one-line fix."""

from __future__ import annotations

from typing import Any

from textual.reactive import reactive
from textual.widgets import DataTable

__all__ = ["DoctorTable"]

_SEVERITY = {"error": "[b red]error[/]", "warning": "[yellow]warning[/]", "info": "info"}


class DoctorTable(DataTable[str]):
    """One row per finding; an empty doctor says so."""

    findings: reactive[list[dict[str, Any]]] = reactive(list, always_update=True)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, id=id)

    def on_mount(self) -> None:
        self.add_columns("Severity", "Rule", "Producer", "Channel", "Fix", "Where")
        self.watch_findings(self.findings)

    def watch_findings(self, findings: list[dict[str, Any]]) -> None:
        if not self.columns:
            return
        self.clear()
        if not findings:
            self.add_row("[green]ok[/]", "no findings", "", "", "the guide is followed", "")
            return
        for finding in findings:
            self.add_row(
                _SEVERITY.get(finding["severity"], finding["severity"]),
                finding["rule"],
                finding["producer_id"],
                finding["channel"],
                finding["hint"] or finding["message"],
                finding["where"],
            )
