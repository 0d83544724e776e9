"""History of the selected channel; pick two updates to see what changed between them."""

from __future__ import annotations

import difflib
from datetime import UTC, datetime
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.reactive import reactive
from textual.widgets import DataTable, Static

from mapstore_tui._format import json_text, short_json
from mapstore_tui.widgets.fitted import Column, FittedTable
from mapstore_tui.widgets.processes import has_process, insert_cell, with_process

__all__ = ["HistoryPanel", "diff_text"]


def diff_text(older: dict[str, Any], newer: dict[str, Any]) -> str:
    """A unified diff of two updates' values, labelled by sequence number."""
    lines = difflib.unified_diff(
        json_text(older["value"]).splitlines(),
        json_text(newer["value"]).splitlines(),
        fromfile=f"seq {older['seq']} ({older['producer_id']}, {older['kind']})",
        tofile=f"seq {newer['seq']} ({newer['producer_id']}, {newer['kind']})",
        lineterm="",
    )
    return "\n".join(lines) or "(no difference)"


class _HistoryTable(FittedTable):
    fleet = False  # which process sent each update, when some came from another
    CURSOR_FOLLOWS_ROW = True  # newest first: each update would push the rows under it

    @property
    def columns_spec(self) -> tuple[Column, ...]:
        return with_process(self.COLUMNS, 4, self.fleet)

    COLUMNS = (
        Column("", floor=1),
        Column("Seq", "number"),
        Column("Time", floor=8, give=3, drop=1),  # the channel list has the age
        Column("Producer", "id", floor=8, give=2),
        Column("Kind", floor=9, give=4),  # `published` whole: short words that say much
        Column("Value", floor=12, give=0),
    )


class HistoryPanel(Vertical):
    """Recent updates, newest first. Enter (or a click) marks an update; two marks: a diff."""

    DEFAULT_CSS = """
    HistoryPanel > DataTable { height: 1fr; }
    HistoryPanel > VerticalScroll { height: 1fr; border-top: solid $primary-muted; }
    HistoryPanel .hint { color: $text-muted; }
    """

    updates: reactive[list[dict[str, Any]]] = reactive(list, always_update=True)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.marked: list[int] = []
        self.channel: str | None = None
        """The channel shown (None: no channel is selected)."""

    def show(self, channel: str | None, updates: list[dict[str, Any]]) -> None:
        """Show ``channel``'s updates; marks and the diff belong to one channel only."""
        if channel != self.channel:
            self.channel = channel
            self.marked = []
        self.updates = updates

    def compose(self) -> ComposeResult:
        yield _HistoryTable()
        with VerticalScroll():
            yield Static(
                "Press enter on two updates to compare them.", classes="hint", id="history-diff"
            )

    def watch_updates(self, updates: list[dict[str, Any]]) -> None:
        if not self.is_mounted:
            return
        seqs = {u["seq"] for u in updates}
        kept = [seq for seq in self.marked if seq in seqs]
        if kept != self.marked or len(kept) < 2:
            self.marked = kept
            self._show_diff()  # a mark that left the history takes its diff with it
        rows = []
        table = self.query_one(_HistoryTable)
        table.fleet = fleet = has_process(updates)
        for update in reversed(updates):
            when = datetime.fromtimestamp(update["timestamp"], tz=UTC).strftime("%H:%M:%S")
            cells = (
                "●" if update["seq"] in self.marked else "",
                str(update["seq"]),
                when,
                update["producer_id"],
                update["kind"],
                short_json(update["value"], 400),
            )
            rows.append((str(update["seq"]), insert_cell(cells, 4, fleet, update)))
        table.show(rows)

    @on(DataTable.RowSelected)
    def _mark(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is None:
            return
        seq = int(event.row_key.value)
        if seq in self.marked:
            self.marked.remove(seq)
        else:
            self.marked = [*self.marked, seq][-2:]
        self.watch_updates(self.updates)
        self._show_diff()

    def _show_diff(self) -> None:
        target = self.query_one("#history-diff", Static)
        by_seq = {u["seq"]: u for u in self.updates}
        picked = sorted(seq for seq in self.marked if seq in by_seq)
        if len(picked) < 2:
            target.update(
                "Marked seq "
                + ", ".join(map(str, picked))
                + "; press enter on another update to compare."
                if picked
                else "Press enter on two updates to compare them."
            )
            return
        from rich.syntax import Syntax  # pygments is heavy: load it when a diff is asked for

        target.update(Syntax(diff_text(by_seq[picked[0]], by_seq[picked[1]]), "diff"))
