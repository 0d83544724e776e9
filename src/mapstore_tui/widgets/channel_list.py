"""The channel list: every channel with counts, rate, a rate sparkline and last-update age.

The list is as wide as its content: every column is as wide as its widest cell (names up to
``NAME_MAX``, then ``…``); numbers are compact (``1.8M``, ``567k/s``), so a column grows
rarely, and when it does the table is rebuilt rather than a cell cut. Under ``NARROW``
terminal columns the P, C and Trend columns go
(the detail tabs show producers and consumers). Live figures are redrawn only for the rows
on screen; rows scrolled into view catch up then (a store of 1,000 channels stays smooth).
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import DataTable, Input

from mapstore_tui._format import clip, compact
from mapstore_tui.messages import ChannelSelected

__all__ = ["NAME_MAX", "NARROW", "ChannelList", "ChannelRow"]

NAME_MAX = 32
"""The widest the name column gets (longer names end in ``…``)."""
NARROW = 100
"""Below this many terminal columns the list keeps only name, messages, rate and age."""


@dataclass(frozen=True)
class ChannelRow:
    """One line of the list, already formatted."""

    name: str
    schema: str
    producers: int
    consumers: int
    publishes: int
    rate: str
    trend: str
    age: str

    def cells(self) -> dict[str, str]:
        """The cells by column key (schema is shown in the detail, not here)."""
        return {
            "name": self.name,
            "producers": str(self.producers),
            "consumers": str(self.consumers),
            "publishes": compact(self.publishes),
            "rate": self.rate,
            "trend": self.trend,
            "age": self.age,
        }


# label, key, shown when narrow
_COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("Channel", "name", True),
    ("P", "producers", False),
    ("C", "consumers", False),
    ("Msgs", "publishes", True),
    ("Rate", "rate", True),
    ("Trend", "trend", False),
    ("Age", "age", True),
)
_BORDER = 2
_SCROLLBAR = 2


class ChannelList(Vertical):
    """Lists channels; highlighting one posts ``ChannelSelected``. ``/`` shows the filter."""

    DEFAULT_CSS = """
    ChannelList { height: 1fr; }
    ChannelList > Input { display: none; height: 3; }
    ChannelList.-filtering > Input { display: block; }
    ChannelList > DataTable { height: 1fr; }
    """

    rows: reactive[list[ChannelRow]] = reactive(list, always_update=True)
    filter_text: reactive[str] = reactive("")
    narrow: reactive[bool] = reactive(False)
    """Show only name, messages, rate and age (a small terminal)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown: list[str] = []
        self._drawn: dict[str, dict[str, str]] = {}
        self._widths: dict[str, int] = {}
        self._columns: tuple[tuple[str, str, bool], ...] = ()

    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter channels and events…", id="channel-filter", disabled=True)
        # no cell padding: each column carries a one-cell gap (see ``_cell``), 7 cells saved
        yield DataTable(cursor_type="row", zebra_stripes=True, cell_padding=0, id="channels")

    def on_mount(self) -> None:
        self.watch(self.table, "scroll_y", self._catch_up, init=False)
        self._render_rows()

    @property
    def table(self) -> DataTable[Text]:
        """The table of channels."""
        return self.query_one("#channels", DataTable)

    @property
    def selected(self) -> str | None:
        """The highlighted channel, if any."""
        table = self.table
        if not self._shown or table.cursor_row < 0 or table.cursor_row >= len(self._shown):
            return None
        return self._shown[table.cursor_row]

    @property
    def content_width(self) -> int:
        """Cells the list needs: its columns, their padding, border and scrollbar."""
        widths = [self._widths.get(key, 0) for _, key, _ in self._columns]
        return sum(widths) + len(widths) + 1 + _BORDER + _SCROLLBAR

    def _visible(self) -> list[ChannelRow]:
        needle = self.filter_text.strip().lower()
        return [row for row in self.rows if needle in row.name.lower()] if needle else self.rows

    def watch_rows(self) -> None:
        self._render_rows()

    def watch_filter_text(self) -> None:
        self._render_rows()

    def watch_narrow(self) -> None:
        self._shown = []  # rebuild with the other set of columns
        self._render_rows()

    def _cell(self, key: str, text: str) -> Text:
        if key == "name":
            return Text(" " + clip(text, self._widths.get("name", NAME_MAX)))
        if key == "trend":
            return Text(" " + text)
        return Text(text, justify="right")

    def _render_rows(self) -> None:
        if not self.is_mounted:
            return
        table = self.table
        rows = self._visible()
        names = [row.name for row in rows]
        columns = tuple(c for c in _COLUMNS if c[2] or not self.narrow)
        # the widest cell of each column, measured without formatting every row
        rows_ = self.rows
        widths = {
            "name": min(NAME_MAX, max((len(r.name) for r in rows_), default=0)),
            "producers": len(str(max((r.producers for r in rows_), default=0))),
            "consumers": len(str(max((r.consumers for r in rows_), default=0))),
            "publishes": len(compact(max((r.publishes for r in rows_), default=0))),
            "rate": max((len(r.rate) for r in rows_), default=0),
            "trend": max((len(r.trend) for r in rows_), default=0),
            "age": max((len(r.age) for r in rows_), default=0),
        }
        widths = {key: max(widths[key], len(label)) for label, key, _ in _COLUMNS}
        if names != self._shown or widths != self._widths or columns != self._columns:
            keep = self.selected
            self._widths, self._columns = widths, columns
            table.clear(columns=True)
            for label, key, _ in columns:
                left = key in ("name", "trend")
                header = Text(" " + label) if left else Text(label, justify="right")
                width = widths[key] + (2 if key == "age" else 1)  # a gap after the last one
                table.add_column(header, key=key, width=width)
            self._drawn = {}
            for row in rows:
                cells = row.cells()
                table.add_row(*(self._cell(k, cells[k]) for _, k, _ in columns), key=row.name)
                self._drawn[row.name] = cells
            self._shown = names
            self.styles.width = self.content_width
            if keep in names:
                table.move_cursor(row=names.index(keep), animate=False)
            if self.selected != keep:  # None when the filter hides every channel
                self.post_message(ChannelSelected(self.selected))
            return
        self._catch_up()

    def _on_screen_rows(self) -> range:
        table = self.table
        first = max(0, int(table.scroll_y))
        return range(first, min(len(self._shown), first + table.size.height + 1))

    def _catch_up(self) -> None:
        """Redraw the changed cells of the rows on screen (the others wait to be scrolled to)."""
        if not self._shown:
            return
        table = self.table
        by_name = {row.name: row for row in self.rows}
        for index in self._on_screen_rows():
            name = self._shown[index]
            row = by_name.get(name)
            if row is None:
                continue
            cells = row.cells()
            drawn = self._drawn.get(name, {})
            for _, key, _ in self._columns:
                if drawn.get(key) != cells[key]:
                    table.update_cell(name, key, self._cell(key, cells[key]))
            self._drawn[name] = cells

    def select(self, channel: str) -> None:
        """Move the cursor to ``channel`` if it is listed."""
        if channel in self._shown:
            self.table.move_cursor(row=self._shown.index(channel), animate=False)

    def open_filter(self) -> None:
        """Show the filter input and focus it."""
        self.add_class("-filtering")
        field = self.query_one(Input)
        field.disabled = False
        field.focus()

    def close_filter(self) -> None:
        """Hide the filter, clear it and give the focus back to the table."""
        field = self.query_one(Input)
        field.value = ""
        field.disabled = True  # hidden and out of the focus chain
        self.remove_class("-filtering")
        self.table.focus()

    @on(Input.Changed, "#channel-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value

    @on(Input.Submitted, "#channel-filter")
    def _filter_submitted(self) -> None:
        self.table.focus()

    @on(DataTable.RowHighlighted, "#channels")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(ChannelSelected(event.row_key.value))
