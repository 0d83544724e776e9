"""The Log Producers panel: the guide's debug text, exactly, selectable and copyable."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import TextArea

__all__ = ["LogProducersPanel"]


class LogProducersPanel(Vertical):
    """Shows ``text``; ``c`` copies it to the clipboard (select part of it with the mouse)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("c", "copy", "Copy text")]
    DEFAULT_CSS = """
    LogProducersPanel > TextArea { height: 1fr; border: none; }
    """

    text: reactive[str] = reactive("")

    def compose(self) -> ComposeResult:
        area = TextArea(
            "", read_only=True, show_line_numbers=False, soft_wrap=False, id="log-producers-text"
        )
        area.cursor_blink = False  # read-only text: a blinking cursor only distracts
        yield area

    def watch_text(self, text: str) -> None:
        if self.is_mounted:
            area = self.query_one(TextArea)
            if area.text != text:
                area.load_text(text)

    def on_mount(self) -> None:
        self.watch_text(self.text)

    def action_copy(self) -> None:
        """Copy the whole text (or the selection) to the clipboard."""
        area = self.query_one(TextArea)
        chosen = area.selected_text or self.text
        self.app.copy_to_clipboard(chosen)
        self.notify(f"Copied {len(chosen.splitlines())} lines of Log Producers text.")
