"""The Process column: which linked process a producer, consumer or update lives in.

A table shows it only when some of its rows come from another process (a linked store, or
the fleet panel), so the panel over a lone store keeps its columns. A local row says
``here``; a gone process's rows say ``stale``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.text import Text

from mapstore_tui.widgets.fitted import Cell, Column

__all__ = [
    "PROCESS_COLUMN",
    "has_process",
    "insert_cell",
    "process_cell",
    "producer_key",
    "with_process",
]

PROCESS_COLUMN = Column("Process", "id", floor=10, give=2)  # `services-1` whole


def has_process(records: Sequence[Mapping[str, Any]]) -> bool:
    """Whether any record comes from a linked process (then the column is shown)."""
    return any(record.get("process") for record in records)


def process_cell(record: Mapping[str, Any]) -> Cell:
    """The process a record lives in; ``here`` for this one, dim."""
    process = record.get("process")
    if record.get("stale"):
        return Text(f"{process} (gone)", "red dim")
    return Text("here", "dim") if not process else Text(str(process), "magenta")


def producer_key(record: Mapping[str, Any]) -> str:
    """A producer's identity across processes: ``id`` here, ``id@process`` for a remote one."""
    process = record.get("process")
    return record["id"] if not process else f"{record['id']}@{process}"


def with_process(columns: tuple[Column, ...], at: int, fleet: bool) -> tuple[Column, ...]:
    """``columns`` with the Process column inserted at ``at`` when ``fleet``."""
    return (*columns[:at], PROCESS_COLUMN, *columns[at:]) if fleet else columns


def insert_cell(
    cells: tuple[Cell, ...], at: int, fleet: bool, record: Mapping[str, Any]
) -> tuple[Cell, ...]:
    """``cells`` with the record's process inserted at ``at`` when ``fleet``."""
    return (*cells[:at], process_cell(record), *cells[at:]) if fleet else cells
