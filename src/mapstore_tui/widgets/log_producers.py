"""The Log Producers panel: the guide's debug text, exactly, selectable and copyable."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import Label, TextArea

from mapstore_tui._format import plural

__all__ = ["LogProducersPanel"]


class LogProducersPanel(Vertical):
    """Shows ``text``; the app's ``c`` copies it (or the part selected with the mouse)."""

    DEFAULT_CSS = """
    LogProducersPanel > TextArea { height: 1fr; border: none; }
    LogProducersPanel > .hint { height: 1; color: $text-muted; padding: 0 1; }
    """

    text: reactive[str] = reactive("")

    def compose(self) -> ComposeResult:
        area = TextArea(
            "", read_only=True, show_line_numbers=False, soft_wrap=False, id="log-producers-text"
        )
        area.cursor_blink = False  # read-only text: a blinking cursor only distracts
        yield Label(
            "[b]c[/b] copies this text (or the part selected with the mouse)", classes="hint"
        )
        yield area

    def watch_text(self, text: str) -> None:
        if self.is_mounted:
            area = self.query_one(TextArea)
            if area.text != text:
                area.load_text(text)

    def on_mount(self) -> None:
        self.watch_text(self.text)

    def copy(self, current: str) -> None:
        """Copy the selection if there is one, else ``current`` (the text as the store says now).

        The pane may not have drawn the latest text yet (``l`` then ``c`` at once): the
        whole text is taken fresh, and shown too.
        """
        area = self.query_one(TextArea)
        selected = area.selected_text
        if not selected:
            self.text = current
        chosen = selected or current
        self.app.copy_to_clipboard(chosen)
        what = "the selected" if selected else "the"
        lines = plural(len(chosen.splitlines()), "line")
        self.notify(f"Copied {what} Log Producers text ({lines}) to the clipboard.", title="Copied")
