"""The dry-run screen (``v``): would this payload validate on the channel, who would get it?

Nothing is published: the view asks the store to validate only.
"""

from __future__ import annotations

import json
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static, TextArea

from mapstore_core import MapStoreError
from mapstore_tui.view import DryRunCapable

__all__ = ["DryRunScreen", "describe_result"]


def describe_result(result: dict[str, object]) -> str:
    """The verdict in plain words (Content markup)."""
    receivers = result.get("receivers") or []
    reach = ", ".join(str(r) for r in receivers) if isinstance(receivers, list) else ""
    who = f"would reach: {reach}" if reach else "no consumer is subscribed"
    if result.get("valid"):
        schema = result.get("schema") or "raw channel: anything goes"
        return f"[b $success]✔ valid[/] ({schema}); {who}"
    problems = result.get("problems") or {}
    lines = [f"[b $error]✘ invalid {result.get('schema')}[/]; {who}"]
    if isinstance(problems, dict):
        lines += [f"  • [b]{field}[/]: {message}" for field, message in problems.items()]
    return "\n".join(lines)


class DryRunScreen(ModalScreen[None]):
    """A JSON editor and a Check button; the verdict shows under them."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("ctrl+s", "check", "Check"),
    ]
    DEFAULT_CSS = """
    DryRunScreen { align: center middle; }
    DryRunScreen > Vertical {
        width: 80; max-width: 100%; height: auto; max-height: 100%; overflow-y: auto;
        border: thick $primary; background: $surface; padding: 1 2;
    }
    DryRunScreen TextArea { height: 10; }
    DryRunScreen #dry-run-result { height: auto; margin-top: 1; }
    DryRunScreen Horizontal { height: auto; align-horizontal: right; margin-top: 1; }
    DryRunScreen Button { margin-left: 2; }
    """

    def __init__(self, view: DryRunCapable, channel: str, payload: object) -> None:
        super().__init__()
        self._view = view
        self._channel = channel
        self._payload = payload

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"[b]Dry run[/b] on [cyan]{self._channel}[/] — validated, never delivered")
            yield TextArea(
                json.dumps(self._payload, indent=2, ensure_ascii=False),
                language=None,
                id="dry-run-payload",
            )
            yield Static("Edit the JSON payload, then Check (ctrl+s).", id="dry-run-result")
            with Horizontal():
                yield Button("Close", id="dry-run-close")
                yield Button("Check", variant="primary", id="dry-run-check")

    @on(Button.Pressed, "#dry-run-check")
    def action_check(self) -> None:
        """Validate the payload as written."""
        result = self.query_one("#dry-run-result", Static)
        text = self.query_one(TextArea).text
        try:
            payload = json.loads(text)
        except json.JSONDecodeError as exc:
            result.update(f"[b $error]✘ not JSON[/]: {exc.msg} (line {exc.lineno})")
            return
        try:
            verdict = self._view.dry_run(self._channel, payload)
        except MapStoreError as exc:
            result.update(f"[b $error]✘ the app refused[/]: {exc}")
            return
        result.update(describe_result(verdict))

    @on(Button.Pressed, "#dry-run-close")
    def _close(self) -> None:
        self.dismiss(None)
