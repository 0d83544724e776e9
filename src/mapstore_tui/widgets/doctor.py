"""The doctor panel: live findings with where they come from and a one-line fix."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.reactive import reactive

from mapstore_tui.widgets.fitted import Column, FittedTable

__all__ = ["DoctorTable"]

_SEVERITY = {
    "error": Text("error", "bold red"),
    "warning": Text("warning", "yellow"),
    "info": Text("info"),
}


class DoctorTable(FittedTable):
    """One row per finding; an empty doctor says so."""

    COLUMNS = (
        Column("Severity", floor=7, give=3),
        Column("Rule", floor=12, give=2),
        Column("Producer", floor=12, give=2),
        Column("Channel", floor=10, give=2),
        Column("Fix", floor=24, give=1),
        Column("Where", "path", floor=20, give=0),
    )
    findings: reactive[list[dict[str, Any]]] = reactive(list, always_update=True)

    def on_mount(self) -> None:
        self.watch_findings(self.findings)

    def watch_findings(self, findings: list[dict[str, Any]]) -> None:
        if not self.is_mounted:
            return
        if not findings:
            self.show(
                [(None, (Text("ok", "green"), "no findings", "", "", "the guide is followed", ""))]
            )
            return
        self.show(
            [
                (
                    None,
                    (
                        _SEVERITY.get(finding["severity"], Text(finding["severity"])),
                        finding["rule"],
                        finding["producer_id"],
                        finding["channel"],
                        finding["hint"] or finding["message"],
                        finding["where"],
                    ),
                )
                for finding in findings
            ]
        )
