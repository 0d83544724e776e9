"""The panel's one-line header: the app's name and the store's totals.

Textual's ``Header`` relayouts the screen whenever its text changes; totals change many
times a second under load, so this header has a fixed size and redraws only itself.
"""

from __future__ import annotations

from textual.reactive import reactive
from textual.widgets import Static

__all__ = ["PanelHeader"]


class PanelHeader(Static):
    """``📤 MapStore · demo │ 3 channels · 5 producers · … · 12/s`` (and ⏸ when paused)."""

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

    totals: reactive[str] = reactive("")
    paused: reactive[bool] = reactive(False)
    notice: reactive[str] = reactive("")
    """A warning shown after the totals (a lost connection)."""

    def __init__(self, title: str, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.title = title

    def on_mount(self) -> None:
        self._draw()

    def watch_totals(self) -> None:
        self._draw()

    def watch_paused(self) -> None:
        self._draw()

    def watch_notice(self) -> None:
        self._draw()

    def _draw(self) -> None:
        if not self.is_mounted:
            return
        pause = "  [b $warning]⏸ PAUSED[/]" if self.paused else ""
        notice = f"  [b $error]{self.notice}[/]" if self.notice else ""
        self.update(f"📤 [b]{self.title}[/b]  │  {self.totals}{pause}{notice}", layout=False)
