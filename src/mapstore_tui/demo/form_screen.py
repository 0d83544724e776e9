"""The demo's user input form (``i``): a note published on ``paragraph-content``.

The screen of the demo's ``UserInputForm`` (the guide's user input pattern); it lives with the
demo so the panel never imports the demo. Only ``DemoApp`` shows it.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, TextArea

from mapstore_core import ParagraphContent
from mapstore_tui.demo.user_form import FormRejected, UserInputForm

__all__ = ["FormScreen"]


def _markdown_label(on: bool) -> str:
    """The Markdown box says its state in words: the box alone looks alike on and off."""
    return "Render as Markdown: [b]on[/b]" if on else "Render as Markdown: off"


class FormScreen(ModalScreen[ParagraphContent | None]):
    """Title, text and a Markdown switch; problems are shown under their field."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "submit", "Publish"),
    ]
    DEFAULT_CSS = """
    FormScreen { align: center middle; }
    FormScreen > Vertical {
        width: 70; height: auto; border: thick $primary; background: $surface; padding: 1 2;
    }
    FormScreen .problem { color: $error; height: auto; }
    FormScreen .problem.-hidden { display: none; }
    FormScreen TextArea { height: 6; }
    FormScreen Horizontal { height: auto; align-horizontal: right; margin-top: 1; }
    FormScreen Button { margin-left: 2; }
    FormScreen Checkbox.-on { color: $success; text-style: bold; }
    FormScreen > Vertical { max-width: 100%; max-height: 100%; overflow-y: auto; }
    """

    def __init__(self, form: UserInputForm) -> None:
        super().__init__()
        self._form = form

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("[b]New note[/b] — published by [cyan]user-input-form[/]")
            yield Label("Title")
            yield Input(placeholder="What is it about?", id="form-title")
            yield Label("", id="problem-title", classes="problem -hidden")
            yield Label("Text")
            yield TextArea("", id="form-content")
            yield Label("", id="problem-content", classes="problem -hidden")
            yield Checkbox(_markdown_label(False), id="form-markdown")
            with Horizontal():
                yield Button("Cancel", id="form-cancel")
                yield Button("Publish", variant="primary", id="form-submit")

    def on_mount(self) -> None:
        self.query_one("#form-title", Input).focus()

    def _show_problems(self, problems: dict[str, str]) -> None:
        for field in ("title", "content"):
            label = self.query_one(f"#problem-{field}", Label)
            label.update(f"⚠ {problems[field]}" if field in problems else "")
            label.set_class(field not in problems, "-hidden")

    @on(Checkbox.Changed, "#form-markdown")
    def _markdown_switched(self, event: Checkbox.Changed) -> None:
        event.checkbox.label = _markdown_label(event.value)

    @on(Input.Changed, "#form-title")
    @on(TextArea.Changed, "#form-content")
    def _revalidate(self) -> None:
        if any(not label.has_class("-hidden") for label in self.query(".problem").results(Label)):
            self._show_problems(self._form.check(*self._inputs()))

    def _inputs(self) -> tuple[str, str]:
        return self.query_one("#form-title", Input).value, self.query_one(TextArea).text

    @on(Button.Pressed, "#form-submit")
    def action_submit(self) -> None:
        """Validate and publish; stay open and show problems if any."""
        title, content = self._inputs()
        markdown = self.query_one(Checkbox).value
        try:
            value = self._form.submit(title, content, markdown=markdown)
        except FormRejected as rejected:
            self._show_problems(rejected.problems)
            return
        self.dismiss(value)

    @on(Button.Pressed, "#form-cancel")
    def action_cancel(self) -> None:
        """Close without publishing."""
        self.dismiss(None)
