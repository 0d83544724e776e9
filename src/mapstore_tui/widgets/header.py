"""The panel's one-line header: what it is looking at, and the store's totals.

Textual's ``Header`` relayouts the screen whenever its text changes; totals change many
times a second under load, so this header has a fixed size and repaints only itself. It
always fits its width: the totals get shorter words first, then the app's sub-title (``demo``,
or the endpoint an attached panel looks at) ends in ``…``; the pause mark and a connection
notice are never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from mapstore_tui._format import compact, plural, rate

__all__ = ["PanelHeader", "Totals", "header_text"]


@dataclass(frozen=True)
class Totals:
    """The header's figures."""

    channels: int
    producers: int
    consumers: int
    messages: int
    per_second: float | None
    """None while no rate is known (drawn ``—/s``, never a false ``0/s``)."""

    def forms(self) -> list[str]:
        """The totals from longest to shortest wording."""
        msgs = f"{compact(self.messages)} {'msg' if self.messages == 1 else 'msgs'}"
        per_second = "—/s" if self.per_second is None else rate(self.per_second)
        return [
            f"{plural(self.channels, 'channel')} · {plural(self.producers, 'producer')} · "
            f"{plural(self.consumers, 'consumer')} · {msgs} · {per_second}",
            f"{self.channels} ch · {self.producers} prod · {self.consumers} cons · "
            f"{msgs} · {per_second}",
            f"{msgs} · {per_second}",
        ]

    def __str__(self) -> str:
        return self.forms()[0]


_ICON = "📤 "
_RULE = "  │  "
_MIN_TITLE = 12


def header_text(
    title: str,
    totals: Totals | None,
    width: int,
    *,
    paused: bool = False,
    notice: str = "",
) -> Text:
    """The header line for ``width`` cells (see the module docstring)."""
    tail = Text()
    if paused:
        tail.append("  ⏸ PAUSED", "bold yellow")
    if notice:
        tail.append(f"  {notice}", "bold red")
    forms = totals.forms() if totals is not None else [""]
    room = width - cell_len(_ICON) - tail.cell_len
    chosen = forms[-1]
    # the longest totals that leave the whole title, else most of it, else a readable part
    for least in (cell_len(title), min(32, cell_len(title)), min(_MIN_TITLE, cell_len(title))):
        fitting = [f for f in forms if room - cell_len(_RULE) - cell_len(f) >= least]
        if fitting:
            chosen = fitting[0]
            break
    title_room = room - (cell_len(_RULE) + cell_len(chosen) if chosen else 0)
    shown = Text(title, "bold")
    if shown.cell_len > title_room:
        shown.truncate(max(1, title_room), overflow="ellipsis")
    line = Text(_ICON) + shown
    if chosen:
        line.append(_RULE, "dim")
        line.append(chosen)
    line.append_text(tail)
    line.truncate(width, overflow="ellipsis")
    return line


class PanelHeader(Widget):
    """``📤 MapStore · demo │ 3 channels · 5 producers · … · 12/s`` (and ⏸ when paused).

    The title is the app's ``title · sub_title``, followed live: an attached panel's
    sub-title (the endpoint's name and address) shows as soon as it is set.
    """

    DEFAULT_CSS = """
    PanelHeader {
        dock: top;
        width: 100%;
        height: 1;
        background: $panel;
        color: $foreground;
        padding: 0 1;
    }
    """

    totals: reactive[Totals | None] = reactive(None)
    paused: reactive[bool] = reactive(False)
    notice: reactive[str] = reactive("")
    """A warning shown after the totals (a lost connection)."""
    title: reactive[str] = reactive("MapStore")

    def __init__(self, title: str | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._fixed_title = title

    def on_mount(self) -> None:
        if self._fixed_title is not None:
            self.title = self._fixed_title
            return
        self.watch(self.app, "title", self._follow_app, init=False)
        self.watch(self.app, "sub_title", self._follow_app, init=False)
        self._follow_app()

    def _follow_app(self) -> None:
        app = self.app
        self.title = app.title + (f" · {app.sub_title}" if app.sub_title else "")

    @property
    def text(self) -> str:
        """The line as drawn now (plain)."""
        return self.render().plain

    def render(self) -> Text:
        return header_text(
            self.title,
            self.totals,
            max(1, self.content_region.width or self.size.width),
            paused=self.paused,
            notice=self.notice,
        )
