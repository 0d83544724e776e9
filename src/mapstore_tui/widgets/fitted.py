"""``FittedTable``: a table whose columns always fit its width, and never cut silently.

A ``DataTable`` sizes each column to its widest cell and scrolls sideways when they do not
fit, so on a normal terminal the right-hand columns (publishes, state, the doctor's flags)
are simply off screen. This table gives every column its natural width when it can, and
otherwise shrinks the text columns (widest first, down to a floor) until they fit. Numbers
never shrink; text that loses characters ends in ``…``; paths lose their left side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import DataTable

from mapstore_tui._format import clip, clip_left, clip_middle

__all__ = ["Cell", "Column", "FittedTable", "fit_widths"]

Cell = str | Text
"""A cell: plain text (no markup) or a styled ``Text``."""


@dataclass(frozen=True)
class Column:
    """One column: its label, and how it may shrink.

    ``kind`` is ``"number"`` (never shrinks, right-aligned), ``"text"`` (cut at the right
    with ``…``), ``"id"`` (cut in the middle: ids that differ at their end stay apart) or
    ``"path"`` (cut at the left: the file and line stay).
    """

    label: str
    kind: Literal["text", "id", "path", "number"] = "text"
    floor: int = 8
    """The least width a text column shrinks to."""
    give: int = 1
    """Shrinking order: columns with a lower ``give`` shrink first (paths: 0)."""
    drop: int = 0
    """Leaving-out order when even the floors do not fit (a narrow terminal): columns with
    a lower ``drop`` go first; 0 never goes (the table then scrolls sideways)."""


def fit_widths(
    columns: Sequence[Column],
    natural: Sequence[int],
    available: int,
    padding: int = 1,
    floors: Sequence[int] | None = None,
) -> list[int]:
    """Widths that fit ``available`` cells: natural ones if they fit, else text shrinks.

    Columns give way in ``give`` order (paths first: their file and line are what matter);
    within one order the widest loses one cell at a time. Returns the floors when even those
    do not fit (the table then scrolls sideways, with a scrollbar). ``floors`` overrides the
    columns' own (a path column's floor keeps its file name and line whole).
    """
    least = list(floors) if floors is not None else [c.floor for c in columns]
    widths = list(natural)
    excess = sum(widths) + padding * len(widths) - available
    for give in sorted({c.give for c in columns if c.kind != "number"}):
        while excess > 0:
            shrinkable = [
                i
                for i, column in enumerate(columns)
                if column.kind != "number"
                and column.give == give
                and widths[i] > min(least[i], natural[i])
            ]
            if not shrinkable:
                break
            widest = max(shrinkable, key=lambda i: widths[i])
            widths[widest] -= 1
            excess -= 1
    # last resort: a path below its file name, down to the column's own floor
    while excess > 0:
        paths = [
            i
            for i, column in enumerate(columns)
            if column.kind == "path" and widths[i] > min(column.floor, natural[i])
        ]
        if not paths:
            break
        widths[max(paths, key=lambda i: widths[i])] -= 1
        excess -= 1
    return widths


_PATH_FLOOR_MAX = 30


def _file_and_line(cell: Cell) -> str:
    plain = cell.plain if isinstance(cell, Text) else cell
    return "…/" + plain.rsplit("/", 1)[-1]


def _width(cell: Cell) -> int:
    return cell.cell_len if isinstance(cell, Text) else cell_len(cell)


def shown_columns(
    columns: Sequence[Column], natural: Sequence[int], floors: Sequence[int], available: int
) -> list[int]:
    """The indices of the columns to draw.

    All of them, or without the least important (``drop``) until the rest fit ``available``
    cells at their floors (numbers at their natural width).
    """
    shown = list(range(len(columns)))

    def least() -> int:
        return sum(
            (natural[i] if columns[i].kind == "number" else min(floors[i], natural[i])) + 1
            for i in shown
        )

    droppable = sorted((c.drop, i) for i, c in enumerate(columns) if c.drop > 0)
    for _order, i in droppable:
        if least() <= available:
            break
        shown.remove(i)
    return shown


def _fit(cell: Cell, width: int, column: Column) -> Text:
    """The cell in ``width`` cells, after a one-cell gap (the table has no cell padding)."""
    text = cell.copy() if isinstance(cell, Text) else Text(cell)
    if text.cell_len > width:
        if column.kind == "path":
            text = Text(clip_left(text.plain, width), style=text.style)
        elif column.kind == "id" and not text.spans:
            text = Text(clip_middle(text.plain, width), style=text.style)
        else:
            text.truncate(width, overflow="ellipsis")
    if column.kind == "number":
        text.justify = "right"
        return text
    return Text(" ") + text


class FittedTable(DataTable[Text]):
    """A row-cursor table drawn from ``show(rows)``; columns fit the width (see module)."""

    COLUMNS: tuple[Column, ...] = ()
    CURSOR_FOLLOWS_ROW: ClassVar[bool] = False
    """While focused, the cursor stays on its row (by key) and its place on screen when
    rows come or go above it; otherwise it keeps its index."""
    FOLLOWS_KEYS: ClassVar[bool] = False
    """The cursor stays on its row's key whenever ``show`` moves that row, focused or not
    (the Processes table: a killed worker drops to the bottom and the highlight goes along,
    so a second ``k`` cannot hit the worker that took its place)."""

    def __init__(self, *, id: str | None = None, cursor: bool = True) -> None:
        super().__init__(
            cursor_type="row" if cursor else "none",
            zebra_stripes=True,
            show_cursor=cursor,
            cell_padding=0,  # each column carries its own one-cell gap (see ``_fit``)
            id=id,
        )
        self._rows: list[tuple[str | None, tuple[Cell, ...]]] = []
        self._widths: list[int] = []
        self._shown: list[int] = []

    @property
    def columns_spec(self) -> tuple[Column, ...]:
        """The columns (a subclass may change them per instance, as the table preview does)."""
        return self.COLUMNS

    def show(self, rows: Sequence[tuple[str | None, Sequence[Cell]]]) -> None:
        """Draw ``rows``: (row key or None, cells in column order)."""
        followed = None
        following = self.FOLLOWS_KEYS or (self.CURSOR_FOLLOWS_ROW and self.has_focus)
        if following and 0 <= self.cursor_row < len(self._rows):
            followed = self._rows[self.cursor_row][0]
        self._rows = [(key, tuple(cells)) for key, cells in rows]
        self._draw(followed)

    def on_resize(self) -> None:
        self._draw()

    def _available(self) -> int:
        width = self.size.width
        if width <= 0:
            return 10_000  # not laid out yet: natural widths
        if len(self._rows) + 1 > self.size.height:
            width -= self.styles.scrollbar_size_vertical
        return width

    def _draw(self, followed: str | None = None) -> None:
        spec = self.columns_spec
        natural = [Text(column.label).cell_len for column in spec]
        for _, cells in self._rows:
            for i, cell in enumerate(cells):
                natural[i] = max(natural[i], _width(cell))
        floors = [column.floor for column in spec]
        for i, column in enumerate(spec):
            if column.kind == "path":  # never less than "…/file.py:31"
                names = [_file_and_line(cells[i]) for _, cells in self._rows]
                floors[i] = min(_PATH_FLOOR_MAX, max([column.floor, *map(len, names)]))
        available = self._available()
        shown = shown_columns(spec, natural, floors, available)
        spec = tuple(spec[i] for i in shown)
        widths = fit_widths(
            spec, [natural[i] for i in shown], available, 1, [floors[i] for i in shown]
        )
        row, scrolled = self.cursor_row, self.scroll_y  # clear() resets both
        if widths != self._widths or shown != self._shown or len(self.columns) != len(spec):
            self.clear(columns=True)
            for column, width in zip(spec, widths, strict=True):
                label = Text(clip(column.label, width))
                if column.kind == "number":
                    label.justify = "right"
                else:
                    label = Text(" ") + label
                self.add_column(label, width=width + 1)
            self._widths = widths
            self._shown = shown
        else:
            self.clear()
        for key, cells in self._rows:
            kept = [cells[i] for i in shown]
            self.add_row(
                *(_fit(cell, w, c) for cell, w, c in zip(kept, widths, spec, strict=True)),
                key=key,
            )
        if not (self._rows and self.show_cursor):
            return
        keys = [key for key, _ in self._rows]
        if followed is not None and followed in keys:
            now_at = keys.index(followed)
            self.move_cursor(row=now_at, animate=False, scroll=False)
            # after the cursor's own scroll, which waits for the new rows' size
            self.call_after_refresh(self.scroll_to, y=scrolled + now_at - row, animate=False)
            return
        self.move_cursor(row=max(0, min(row, len(self._rows) - 1)), animate=False)
