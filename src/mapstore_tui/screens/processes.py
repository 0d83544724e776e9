"""The processes of a linked fleet (``w``): who is alive, who is gone, what each one runs.

One row per process of the namespace: name, host, pid, program, when it started, its
heartbeat age (on Redis's clock), alive or gone (greyed, with when: a gone process stays 10
minutes, then drops off), its producers, consumers, publish rate, link drops and schema
fingerprints. The highlighted process is written out below the table: its producers and
consumers, its models and, for a gone one, its producers' last values, marked stale.

The fleet demo adds ``k`` (SIGKILL the highlighted worker) and ``s`` (start another).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Label, Static

from mapstore_tui._format import age, compact, plural, rate, short_json
from mapstore_tui.widgets.fitted import Cell, Column, FittedTable
from mapstore_tui.widgets.footer import PanelFooter

__all__ = ["ProcessesScreen", "ProcessesTable", "process_cells", "stale_producers"]

Processes = Callable[[], list[dict[str, Any]]]


def stale_producers(view: object) -> list[dict[str, Any]]:
    """Producer records for the last values of gone processes, marked ``stale``.

    A process that stopped heartbeating has its producers closed; for the 10 minutes it is
    listed as gone, the overview still shows what they last published, as stale.
    """
    processes = getattr(view, "processes", None)
    if not callable(processes):
        return []
    records = []
    for process in processes():
        if process["alive"]:
            continue
        described = {(c, pid): (kind, where) for c, pid, kind, where in process["producers"]}
        for channel, pid, _value in process["stale"]:
            kind, where = described.get((channel, pid), ("producer", ""))
            records.append(
                {
                    "channel": channel,
                    "id": pid,
                    "kind": kind,
                    "registered_at": where,
                    "publish_count": 0,
                    "last_publish": process["gone_since"],
                    "has_value": True,
                    "leaked": False,
                    "validated": True,
                    "process": process["name"],
                    "stale": True,
                    "rate": None,
                }
            )
    return records


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return time.strftime("%H:%M:%S", time.gmtime(seconds))  # UTC, as the event log


def schema_majority(records: list[dict[str, Any]]) -> dict[str, str]:
    """Per channel, the model fingerprint most processes have (ties: the first in order)."""
    seen: dict[str, Counter[str]] = {}
    for record in records:
        for channel, fingerprint in record["schemas"].items():
            seen.setdefault(channel, Counter())[fingerprint] += 1
    return {channel: counts.most_common(1)[0][0] for channel, counts in seen.items()}


def _models(record: dict[str, Any], majority: dict[str, str], dim: str) -> Text:
    """``4 models``, or which of them differ from most processes' (the detail lists all)."""
    schemas: dict[str, str] = record["schemas"]
    if not schemas:
        return Text("—", dim)
    count = plural(len(schemas), "model")
    differ = sorted(c for c, f in schemas.items() if majority.get(c, f) != f)
    if not differ:
        return Text(count, dim)
    verb = "differs" if len(differ) == 1 else "differ"
    return Text(f"{count} · {', '.join(differ)} {verb}", "yellow")


def process_cells(
    record: dict[str, Any], now: float, majority: dict[str, str] | None = None
) -> tuple[Cell, ...]:
    """One process's row; a gone one greyed, with when it went.

    ``majority``: see ``schema_majority`` (a model no other process shares never differs).
    """
    alive = record["alive"]
    dim = "" if alive else "dim"
    if alive:
        state = Text("alive", "green")
    else:
        gone = record["gone_since"]
        ago = None if gone is None else max(0.0, now - gone)
        state = Text(f"gone {age(ago)} ago", "red dim")  # the detail below has the time
    name = Text(record["name"] + (" (this)" if record.get("me") else ""), dim or "bold")
    drops = record["link_drops"]
    return (
        name,
        Text(record["host"] or "?", dim),
        Text(str(record["pid"] or "?"), dim),
        Text(record["program"] or "?", dim),
        Text(_clock(record["started"]), dim),
        Text(age(record["heartbeat_age"]), dim),
        state,
        Text(compact(len(record["producers"])), dim),
        Text(compact(len(record["consumers"])), dim),
        Text("—" if record["publish_rate"] is None else rate(record["publish_rate"]), dim),
        Text(compact(drops), "yellow" if record["drops_last_minute"] else dim),
        _models(record, majority or {}, dim),
    )


class ProcessesTable(FittedTable):
    """One row per process; the row key is the process name, and the cursor follows it.

    A process that goes gone moves to the bottom; the highlight goes with it, so that a key
    pressed next (``k``) acts on the process the person chose, not on its old row's new one.
    """

    FOLLOWS_KEYS = True

    COLUMNS = (
        Column("Process", "id", floor=10, give=3),
        Column("Host", floor=6, give=2, drop=1),
        Column("PID", "number", drop=2),
        Column("Program", floor=10, give=2),
        Column("Started", "number", drop=3),
        Column("Beat", "number"),
        Column("State", floor=12, give=4),  # alive / gone: cut last
        Column("Prod", "number", drop=5),
        Column("Cons", "number", drop=4),
        Column("Rate", "number", drop=6),
        Column("Drops", "number", drop=7),
        Column("Models", floor=20, give=1),  # which differ: worth leaving counts out for
    )


def _listed(text: Text, heading: str, items: list[str]) -> None:
    """A new line: ``heading: a, b``, or the heading alone ("0 consumers") when empty."""
    text.append(f"\n{heading}" + (": " if items else ""), "bold")
    text.append(", ".join(items))


def describe_process(record: dict[str, Any], now: float) -> Text:
    """The highlighted process in full: producers, consumers, models, stale values."""
    text = Text.assemble((record["name"], "bold"), f" · {record['host']} pid {record['pid']}")
    text.append(f" · {record['program']} · mapstore {record['version'] or '?'}")
    if not record["alive"]:
        gone = record["gone_since"]
        text.append(
            f"\ngone since {_clock(gone)} ({record['gone_reason']}); "
            "it drops off this list 10 minutes after",
            "red",
        )
    producers = [f"{pid} → {channel} ({kind})" for channel, pid, kind, _ in record["producers"]]
    _listed(text, plural(len(producers), "producer"), producers)
    consumers = [f"{channel} → {cid}" for channel, cid in record["consumers"]]
    _listed(text, plural(len(consumers), "consumer"), consumers)
    text.append("\nmodels: ", "bold")
    text.append(", ".join(f"{c}={f}" for c, f in sorted(record["schemas"].items())) or "none")
    stale = record.get("stale") or []
    if stale:
        text.append("\nstale values (last seen before it went; not live):", "yellow")
        for channel, pid, value in stale:
            text.append(f"\n  {pid} on {channel}: {short_json(value, 90)}", "dim")
    return text


def _attach_text(command: str) -> Text:
    """The command to attach, on a line of its own.

    Beside its label it wrapped at a space on a narrow terminal and was copied with a newline
    in it; on its own line only a command longer than the line wraps, and ``c`` copies it.
    """
    return Text.assemble(("attach from another terminal:", "dim"), "\n", (command, "bold"))


class ProcessesScreen(Screen[None]):
    """Every process of the linked namespace; refreshed every second."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("w", "back", "Back", show=False),
        Binding("k", "kill", "Kill (SIGKILL)"),
        Binding("s", "start", "Start another"),
        Binding("c", "copy_attach", "Copy attach"),  # a narrow terminal wraps the command
        Binding("question_mark", "app.help", "Help", key_display="?"),
        Binding("q", "app.quit", "Quit"),
    ]
    DEFAULT_CSS = """
    ProcessesScreen > #processes-caption {
        height: 1; width: 100%; padding: 0 1; background: $panel;
    }
    ProcessesScreen > #processes-attach { height: auto; width: 100%; padding: 0 1; }
    ProcessesScreen > ProcessesTable { height: 1fr; }
    ProcessesScreen > VerticalScroll { height: auto; max-height: 12; padding: 0 1;
        border-top: solid $panel; }
    """

    def __init__(
        self,
        processes: Processes,
        *,
        now: Callable[[], float],
        kill: Callable[[str], str] | None = None,
        start: Callable[[], str] | None = None,
        title: str = "",
        attach: str | None = None,
        link_status: Callable[[], str | None] | None = None,
    ) -> None:
        super().__init__()
        self._link_status = link_status
        self._processes = processes
        self._attach_command = attach
        self._now = now
        self._kill = kill
        self._start = start
        self._title = title
        self.records: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield Label("", id="processes-caption")
        if self._attach_command:  # the fleet demo's Redis is on a private socket
            yield Label(_attach_text(self._attach_command), id="processes-attach")
        yield ProcessesTable(id="processes-table")
        with VerticalScroll():
            yield Static("", id="process-detail")
        yield PanelFooter()

    def on_mount(self) -> None:
        self.refresh_rows()
        self.set_interval(1.0, self.refresh_rows, name="processes")
        self.query_one(ProcessesTable).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "kill":
            return self._kill is not None
        if action == "start":
            return self._start is not None
        if action == "copy_attach":
            return self._attach_command is not None
        return True

    def action_copy_attach(self) -> None:
        """Copy the command that attaches another terminal (whole, however it is wrapped)."""
        if self._attach_command:
            self.app.copy_to_clipboard(self._attach_command)
            self.notify(f"Copied: {self._attach_command}", title="Copied", markup=False)

    def refresh_rows(self) -> None:
        """Read the processes again and redraw."""
        try:
            records = self._processes()
        except Exception as exc:  # the panel never crashes on data
            self.query_one("#processes-caption", Label).update(
                Text(f"Processes · cannot read the fleet: {exc}", "red")
            )
            return
        now = self._now()
        self.records = records
        alive = sum(1 for r in records if r["alive"])
        unreachable = self._link_status is not None and self._link_status() == "disconnected"
        caption = Text.assemble(
            ("Processes", "bold"),
            f" · {self._title} · " if self._title else " · ",
            ("Redis unreachable: as last read · ", "bold red") if unreachable else ("", ""),
            f"{alive} alive",
            (f" · {len(records) - alive} gone", "red") if len(records) > alive else ("", ""),
            (" · heartbeat ages on Redis's clock; escape goes back", "dim"),
        )
        caption.truncate(max(1, self.size.width - 2), overflow="ellipsis")
        self.query_one("#processes-caption", Label).update(caption)
        table = self.query_one(ProcessesTable)
        if not records:
            table.show([(None, (Text("no process has linked yet", "dim"),) + ("",) * 11)])
        else:
            majority = schema_majority(records)
            table.show(
                [(record["name"], process_cells(record, now, majority)) for record in records]
            )
        self._describe()

    def highlighted(self) -> dict[str, Any] | None:
        """The record of the highlighted process, if any."""
        table = self.query_one(ProcessesTable)
        if not self.records or table.cursor_row < 0:
            return None
        return self.records[min(table.cursor_row, len(self.records) - 1)]

    def _describe(self) -> None:
        record = self.highlighted()
        detail = self.query_one("#process-detail", Static)
        detail.update("" if record is None else describe_process(record, self._now()))

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._describe()

    def action_back(self) -> None:
        """Back to the panel."""
        self.dismiss(None)

    def action_kill(self) -> None:
        """SIGKILL the highlighted worker: watch it go gone."""
        record = self.highlighted()
        if self._kill is None or record is None:
            return
        self.notify(self._kill(record["name"]), title="Kill")

    def action_start(self) -> None:
        """Start another worker."""
        if self._start is not None:
            self.notify(self._start(), title="Start")
