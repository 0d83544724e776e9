"""Detail tables of the selected channel: its producers and its consumers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.reactive import reactive
from textual.widgets import DataTable

from mapstore_tui._format import age

__all__ = ["ConsumersTable", "ProducersTable", "RecordTable"]


class RecordTable(DataTable[str]):
    """A table redrawn from a ``records`` reactive (a list of dicts) by ``cells``."""

    COLUMNS: tuple[str, ...] = ()
    records: reactive[list[dict[str, Any]]] = reactive(list, always_update=True)

    def __init__(self, *, now: Callable[[], float], id: str | None = None) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, id=id)
        self._now = now

    def on_mount(self) -> None:
        self.add_columns(*self.COLUMNS)
        self.watch_records(self.records)

    def watch_records(self, records: list[dict[str, Any]]) -> None:
        if not self.columns:
            return
        row = self.cursor_row
        self.clear()
        for record in records:
            self.add_row(*self.cells(record))
        if records:
            self.move_cursor(row=min(row, len(records) - 1), animate=False)

    def cells(self, record: dict[str, Any]) -> tuple[str, ...]:
        """One row's cells."""
        raise NotImplementedError


class ProducersTable(RecordTable):
    """Producers of the channel: who they are, where they were registered, how they do.

    ``flags`` maps producer ids to the doctor's rules that currently fire for them.
    """

    COLUMNS = ("Producer", "Kind", "Registered at", "Publishes", "Last", "State", "Doctor")
    flags: reactive[dict[str, list[str]]] = reactive(dict, always_update=True)

    def watch_flags(self) -> None:
        self.watch_records(self.records)

    def cells(self, record: dict[str, Any]) -> tuple[str, ...]:
        last = record["last_publish"]
        if record["leaked"]:
            state = "[red]leaked[/]"
        elif record["has_value"]:
            state = "holds value"
        else:
            state = "[dim]empty[/]"
        if not record["validated"]:
            state += " [yellow](raw)[/]"
        flags = self.flags.get(record["id"], [])
        return (
            record["id"],
            record["kind"],
            record["registered_at"],
            f"{record['publish_count']:,}",
            age(None if last is None else self._now() - last),
            state,
            "[red]" + ", ".join(flags) + "[/]" if flags else "[green]ok[/]",
        )


class ConsumersTable(RecordTable):
    """Consumers of the channel, with deliveries and errors."""

    COLUMNS = ("Consumer", "Registered at", "Delivered", "Errors", "Callbacks", "Model")

    def cells(self, record: dict[str, Any]) -> tuple[str, ...]:
        errors = record["errors"]
        return (
            record["id"],
            record["registered_at"],
            f"{record['delivered']:,}",
            f"[red]{errors}[/]" if errors else "0",
            str(record["subscribers"]),
            record["model"] or "[dim]raw[/]",
        )
