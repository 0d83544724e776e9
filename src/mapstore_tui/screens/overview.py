"""The producers overview (``o``): every producer of the store in one full-width table.

The guide's debugging step — "look for your producer ID, verify its channel" — as a screen:
channel, id, kind, where it was registered, publishes, rate, last publish, state and the
doctor's flags. ``/`` filters (by any of those), ``enter`` opens the producer's channel.

A table of ten thousand rows costs seconds to build, every second: the overview shows the
first ``MAX_ROWS`` (flagged producers first) and says how many more the filter would reach.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Input, Label

from mapstore_tui._format import age, compact, plural, rate
from mapstore_tui.widgets.fitted import Column, FittedTable
from mapstore_tui.widgets.footer import PanelFooter
from mapstore_tui.widgets.processes import has_process, insert_cell, with_process
from mapstore_tui.widgets.tables import doctor_cell, producer_state

__all__ = ["MAX_ROWS", "OverviewTable", "ProducersOverview"]

MAX_ROWS = 300
"""The most rows the overview draws at once (``/`` narrows the rest down)."""

Producers = Callable[[], tuple[list[dict[str, Any]], dict[tuple[str, str], list[str]]]]
"""Returns (producers with a ``rate``, doctor flags by (channel, producer id))."""


class OverviewTable(FittedTable):
    """One row per producer; the row key is ``channel`` so enter knows where to go."""

    COLUMNS = (
        Column("Channel", "id", floor=11, give=2),  # cut in the middle: ids stay apart
        Column("Producer", "id", floor=11, give=2),
        Column("Kind", floor=8, give=4, drop=2),  # short words that say much: cut last
        Column("Registered at", "path", floor=12, give=0),
        Column("Msgs", "number", drop=4),
        Column("Rate", "number", drop=1),
        Column("Last", "number", drop=3),
        Column("State", floor=10, give=4),  # `leaked raw` whole
        # the overview's point: a rule id whole (`unvalidated-publish`) before the counts
        Column("Doctor", floor=19, give=3),
    )
    fleet = False  # some producers live in linked processes: a Process column

    @property
    def columns_spec(self) -> tuple[Column, ...]:
        return with_process(self.COLUMNS, 2, self.fleet)


class ProducersOverview(Screen[str | None]):
    """Every producer; dismissed with the chosen channel (or None)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open channel", priority=False),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("escape", "back", "Back"),
        Binding("o", "back", "Back", show=False),
        Binding("question_mark", "app.help", "Help", key_display="?"),
        Binding("q", "app.quit", "Quit"),
    ]
    DEFAULT_CSS = """
    ProducersOverview > #overview-caption {
        height: 1; width: 100%; padding: 0 1; background: $panel;
    }
    ProducersOverview > Input { display: none; }
    ProducersOverview.-filtering > Input { display: block; }
    ProducersOverview > OverviewTable { height: 1fr; }
    """

    def __init__(self, producers: Producers, *, now: Callable[[], float]) -> None:
        super().__init__()
        self._producers = producers
        self._now = now
        self.filter_text = ""
        self.rows: list[tuple[str, list[Any]]] = []

    def compose(self) -> ComposeResult:
        yield Label("", id="overview-caption")
        yield Input(placeholder="filter producers (id, channel, kind, where, flags)…")
        yield OverviewTable(id="overview-table")
        yield PanelFooter()

    def on_mount(self) -> None:
        self._tick()
        self.query_one(OverviewTable).focus()

    def _tick(self) -> None:
        """Refresh, then again in a second, or less often on a big store.

        Reading ten thousand producers costs a tenth of a second: every second would take a
        third of the UI thread, so the pause grows with the store (a second per thousand).
        """
        count = self.refresh_rows()
        self.set_timer(max(1.0, count / 1_000), self._tick, name="overview")

    def refresh_rows(self) -> int:
        """Read the producers again and redraw (filtered); returns how many there are."""
        producers, flags = self._producers()
        needle = self.filter_text.strip().lower()
        now = self._now()

        # flagged producers first: they are what a person opens the overview for
        def order(record: dict[str, Any]) -> tuple[bool, str, str, str]:
            flagged = bool(flags.get((record["channel"], record["id"])))
            # the process last: one id in several processes keeps a stable order
            return (not flagged, record["channel"], record["id"], record.get("process") or "")

        matches = []
        for record in sorted(producers, key=order):
            rules = flags.get((record["channel"], record["id"]), [])
            if needle:
                state = producer_state(record).plain
                fields = [record["channel"], record["id"], record["kind"], record["registered_at"]]
                fields.append(record.get("process") or "")
                if needle not in " ".join([*fields, state, *rules]).lower():
                    continue
            matches.append((record, rules))
        rows = []
        fleet = has_process(producers)
        for record, rules in matches[:MAX_ROWS]:  # cells only for the rows drawn
            last = record["last_publish"]
            rows.append(
                (
                    record["channel"],
                    [
                        *insert_cell((record["channel"], record["id"]), 2, fleet, record),
                        record["kind"],
                        record["registered_at"],
                        compact(record["publish_count"]),
                        "—" if record.get("rate") is None else rate(record["rate"]),
                        age(None if last is None else max(0.0, now - last)),
                        producer_state(record),
                        doctor_cell(rules),
                    ],
                )
            )
        matching = len(matches)
        self.rows = rows
        # producers listed here with a finding (a churn finding may name one already closed)
        flagged = sum(1 for record in producers if flags.get((record["channel"], record["id"])))
        caption = Text.assemble(
            ("Producers overview", "bold"),
            f" · {plural(len(producers), 'producer')}",
            (f" · {flagged} flagged by the doctor", "red") if flagged else ("", ""),
            (f" · {matching} match “{self.filter_text}”", "cyan") if needle else ("", ""),
            (f" · showing the first {MAX_ROWS}: / narrows", "yellow")
            if matching > MAX_ROWS
            else ("", ""),
            (" · enter opens the channel, / filters, escape goes back", "dim"),
        )
        caption.truncate(max(1, self.size.width - 2), overflow="ellipsis")
        self.query_one("#overview-caption", Label).update(caption)
        table = self.query_one(OverviewTable)
        table.fleet = fleet
        # the row key is the channel; several producers share one, so keys are made unique
        table.show([(f"{i}\x00{channel}", cells) for i, (channel, cells) in enumerate(rows)])
        return len(producers)

    def action_filter(self) -> None:
        """Show the filter and focus it."""
        self.add_class("-filtering")
        self.query_one(Input).focus()

    @on(Input.Changed)
    def _filter(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self.refresh_rows()

    @on(Input.Submitted)
    def _filter_done(self) -> None:
        """Enter in the filter: one match opens its channel; several go to the list."""
        if len(self.rows) == 1:
            self.dismiss(self.rows[0][0])
            return
        self.query_one(OverviewTable).focus()

    def action_back(self) -> None:
        """Close the filter if it is open, else go back to the panel."""
        if self.has_class("-filtering"):
            field = self.query_one(Input)
            field.value = ""
            self.remove_class("-filtering")
            self.query_one(OverviewTable).focus()
            return
        self.dismiss(None)

    def action_open(self) -> None:
        """Go back to the panel with the highlighted producer's channel selected."""
        table = self.query_one(OverviewTable)
        if not self.rows or table.cursor_row < 0:
            return
        self.dismiss(self.rows[min(table.cursor_row, len(self.rows) - 1)][0])

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()
