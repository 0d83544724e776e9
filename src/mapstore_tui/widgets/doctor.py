"""The doctor panel: live findings with where they come from and a one-line fix.

The table fits its width (a long fix ends in ``…``); the highlighted finding is written out
in full below it: what is wrong, the fix, and where.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import DataTable, Static

from mapstore_tui.widgets.fitted import Column, FittedTable

__all__ = ["DoctorPanel", "DoctorTable", "describe_finding"]

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
        Column("Producer", "id", floor=12, give=2),
        Column("Channel", "id", floor=10, give=2),
        Column("Fix", floor=24, give=1, drop=2),  # the detail below says it whole
        Column("Where", "path", floor=20, give=0, drop=1),
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


_NO_CHANNEL = "(fleet)"
"""The channel of a finding about a whole process (``process-gone``): said as no channel."""


def describe_finding(finding: dict[str, Any]) -> Text:
    """A finding in full: rule, who and where, then the fix, then what is wrong.

    The fix comes before the explanation: on a short terminal the pane shows four lines,
    and the fix is what a person acts on (the table's Fix column is cut first).
    """
    on_a_channel = finding["channel"] != _NO_CHANNEL
    text = Text.assemble(
        (finding["rule"], "bold"),
        " — ",
        (finding["producer_id"], "cyan"),
        " on " if on_a_channel else "",
        (finding["channel"] if on_a_channel else "", "bold"),
        f" ({finding['where']})" if finding["where"] else "",
    )
    if finding["hint"]:
        text.append("\nFix: ", "bold green")
        text.append(finding["hint"])
    text.append("\n" + finding["message"])
    return text


class DoctorPanel(Vertical):
    """The findings table, and the highlighted finding written out in full.

    The table takes the rows it has (up to 70% of the height); the detail takes the rest, at
    least four lines (heading, where, fix, the start of the explanation), so on a short
    terminal a few findings leave it room to say the whole finding.
    """

    DEFAULT_CSS = """
    DoctorPanel > DoctorTable { height: auto; min-height: 4; max-height: 70%; }
    DoctorPanel > #doctor-detail {
        height: 1fr; min-height: 5; padding: 0 1; border-top: solid $primary-muted;
        overflow-y: auto;
    }
    """

    def compose(self) -> ComposeResult:
        yield DoctorTable(id="doctor-table")
        yield Static("", id="doctor-detail")

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        findings = self.query_one(DoctorTable).findings
        detail = self.query_one("#doctor-detail", Static)
        if 0 <= event.cursor_row < len(findings):
            detail.update(describe_finding(findings[event.cursor_row]))
        else:
            detail.update("")
