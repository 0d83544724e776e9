"""The channel list: every channel with counts, rate, a rate sparkline and last-update age."""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import DataTable, Input

from mapstore_tui.messages import ChannelSelected

__all__ = ["ChannelList", "ChannelRow"]


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

    def cells(self) -> tuple[str, str, str, str, str, str, str]:
        """The cells in column order (schema is shown in the detail, not here)."""
        return (
            self.name,
            str(self.producers),
            str(self.consumers),
            f"{self.publishes:,}",
            self.rate,
            self.trend,
            self.age,
        )


_COLUMNS = (
    ("Channel", "name"),
    ("P", "producers"),
    ("C", "consumers"),
    ("Msgs", "publishes"),
    ("Rate", "rate"),
    ("Trend", "trend"),
    ("Age", "age"),
)


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

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown: list[str] = []

    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter channels and events…", id="channel-filter", disabled=True)
        table: DataTable[str] = DataTable(cursor_type="row", zebra_stripes=True, id="channels")
        for label, key in _COLUMNS:
            table.add_column(label, key=key)
        yield table

    @property
    def table(self) -> DataTable[str]:
        """The table of channels."""
        return self.query_one("#channels", DataTable)

    @property
    def selected(self) -> str | None:
        """The highlighted channel, if any."""
        table = self.table
        if not self._shown or table.cursor_row < 0 or table.cursor_row >= len(self._shown):
            return None
        return self._shown[table.cursor_row]

    def _visible(self) -> list[ChannelRow]:
        needle = self.filter_text.strip().lower()
        return [row for row in self.rows if needle in row.name.lower()] if needle else self.rows

    def watch_rows(self) -> None:
        self._render_rows()

    def watch_filter_text(self) -> None:
        self._render_rows()

    def _render_rows(self) -> None:
        if not self.is_mounted:
            return
        table = self.table
        rows = self._visible()
        names = [row.name for row in rows]
        if names != self._shown:
            keep = self.selected
            table.clear()
            for row in rows:
                table.add_row(*row.cells(), key=row.name)
            self._shown = names
            if keep in names:
                table.move_cursor(row=names.index(keep), animate=False)
            if self.selected != keep and self.selected is not None:
                self.post_message(ChannelSelected(self.selected))
            return
        for row in rows:
            current = table.get_row(row.name)
            for (_, key), old, new in zip(_COLUMNS, current, row.cells(), strict=True):
                if old != new:
                    table.update_cell(row.name, key, new)

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
