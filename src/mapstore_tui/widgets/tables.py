"""Detail tables of the selected channel: its producers and its consumers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.reactive import reactive

from mapstore_tui._format import age, compact, rate
from mapstore_tui.widgets.fitted import Cell, Column, FittedTable
from mapstore_tui.widgets.processes import has_process, insert_cell, producer_key, with_process

__all__ = [
    "ConsumersTable",
    "ProducersTable",
    "RecordTable",
    "doctor_cell",
    "producer_state",
]


def producer_state(record: dict[str, Any]) -> Text:
    """``value`` / ``empty`` / ``leaked``, and ``raw`` for an unvalidated producer."""
    if record.get("stale"):  # its process is gone: the last value it had, not a live one
        state = Text("stale", "red dim")
    elif record["leaked"]:
        state = Text("leaked", "red")
    elif record["has_value"]:
        state = Text("value")
    else:
        state = Text("empty", "dim")
    if not record["validated"]:
        state.append(" raw", "yellow")
    return state


def doctor_cell(flags: list[str]) -> Text:
    """The doctor's rules that fire for a producer, or a green ``ok``."""
    return Text(", ".join(flags), "red") if flags else Text("ok", "green")


class RecordTable(FittedTable):
    """A table redrawn from a ``records`` reactive (a list of dicts) by ``cells``."""

    records: reactive[list[dict[str, Any]]] = reactive(list, always_update=True)

    PROCESS_AT = 1
    """Where the Process column goes when some rows come from linked processes."""

    def __init__(self, *, now: Callable[[], float], id: str | None = None) -> None:
        super().__init__(id=id)
        self._now = now
        self.fleet = False

    @property
    def columns_spec(self) -> tuple[Column, ...]:
        return with_process(self.COLUMNS, self.PROCESS_AT, self.fleet)

    def on_mount(self) -> None:
        self.watch_records(self.records)

    def watch_records(self, records: list[dict[str, Any]]) -> None:
        if self.is_mounted:
            self.fleet = has_process(records)
            at, fleet = self.PROCESS_AT, self.fleet
            self.show([(None, insert_cell(self.cells(r), at, fleet, r)) for r in records])

    def cells(self, record: dict[str, Any]) -> tuple[Cell, ...]:
        """One row's cells."""
        raise NotImplementedError


class ProducersTable(RecordTable):
    """Producers of the channel: who they are, where they were registered, how they do.

    ``flags`` maps producer ids to the doctor's rules that currently fire for them;
    ``rates`` maps them to their publish rate.
    """

    COLUMNS = (
        Column("Producer", "id", floor=10, give=1),  # cut in the middle: ids stay apart
        Column("Kind", floor=8, give=4, drop=2),  # short words that say much: cut last
        Column("Registered at", "path", floor=16, give=0),
        Column("Msgs", "number", drop=4),
        Column("Rate", "number", drop=1),
        Column("Last", "number", drop=3),
        Column("State", floor=9, give=4),
        Column("Doctor", floor=12, give=3, drop=5),  # the Doctor tab and the overview say it too
    )
    flags: reactive[dict[str, list[str]]] = reactive(dict, always_update=True)
    rates: dict[str, float]

    def __init__(self, *, now: Callable[[], float], id: str | None = None) -> None:
        super().__init__(now=now, id=id)
        self.rates = {}

    def watch_flags(self) -> None:
        self.watch_records(self.records)

    def cells(self, record: dict[str, Any]) -> tuple[Cell, ...]:
        last = record["last_publish"]
        return (
            record["id"],
            record["kind"],
            record["registered_at"],
            compact(record["publish_count"]),
            rate(self.rates[key]) if (key := producer_key(record)) in self.rates else "—",
            age(None if last is None else max(0.0, self._now() - last)),
            producer_state(record),
            doctor_cell(self.flags.get(record["id"], [])),
        )


class ConsumersTable(RecordTable):
    """Consumers of the channel, with deliveries and errors."""

    COLUMNS = (
        Column("Consumer", "id", floor=12, give=3),
        Column("Registered at", "path", floor=16, give=0),
        Column("Delivered", "number", drop=3),
        Column("Errors", "number"),
        Column("Callbacks", "number", drop=1),
        Column("Model", floor=8, drop=2),
    )

    def cells(self, record: dict[str, Any]) -> tuple[Cell, ...]:
        errors = record["errors"]
        if record["delivered"] is None:  # another process's consumer: its counts stay there
            # its model as `Name:fingerprint`: the name here, the fingerprints under `w`
            model = (record["model"] or "").partition(":")[0]
            return (record["id"], record["registered_at"], "—", "—", "—", model)
        return (
            record["id"],
            record["registered_at"],
            compact(record["delivered"]),
            Text(compact(errors), "red") if errors else "0",
            str(record["subscribers"]),
            record["model"] or Text("raw", "dim"),
        )
