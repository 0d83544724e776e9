"""The dry-run screen (``v``): would this payload validate on the channel, who would get it?

Nothing is published: the view asks the store to validate only. The question may go to
another process (an attached app, which may be busy or stopped), so it is asked by a thread
worker and the verdict comes back as a ``DryRunAnswered`` message: the screen never waits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static, TextArea

from mapstore_tui.view import DryRunCapable

__all__ = ["DryRunAnswered", "DryRunScreen", "describe_result"]


@dataclass
class DryRunAnswered(Message):
    """The verdict on a payload, or why there is none (posted by the dry run's worker)."""

    check: int
    """Which check it answers (a later one replaces it)."""
    verdict: dict[str, Any] | None
    """``valid``, ``schema``, ``problems``, ``receivers`` (and ``remote_receivers`` over a
    linked store); None when it failed."""
    error: str = ""
    """Why there is no verdict (the app refused, or did not answer)."""


_NAMED = 5
"""The most other processes a verdict names."""


def describe_result(result: dict[str, object]) -> str:
    """The verdict in plain words (Content markup; the app's words escaped).

    Over a linked store the consumers of other processes count too: ``no consumer in this
    process; 2 in other processes (web-1, web-2) would get it once published``.
    """
    receivers = result.get("receivers") or []
    reach = ", ".join(str(r) for r in receivers) if isinstance(receivers, list) else ""
    remote = result.get("remote_receivers") or []
    if not isinstance(remote, list):
        remote = []
    processes = sorted(
        {str(r.get("process")) for r in remote if isinstance(r, dict) and r.get("process")}
    )
    if not processes:
        who = f"would reach: {escape(reach)}" if reach else "no consumer is subscribed"
    else:
        here = f"would reach: {escape(reach)}" if reach else "no consumer in this process"
        named = ", ".join(processes[:_NAMED]) + (", …" if len(processes) > _NAMED else "")
        other = "another process" if len(processes) == 1 else "other processes"
        who = f"{here}; {len(remote)} in {other} ({escape(named)}) would get it once published"
    if result.get("valid"):
        schema = escape(str(result.get("schema") or "raw channel: anything goes"))
        return f"[b $success]✔ valid[/] ({schema}); {who}"
    problems = result.get("problems") or {}
    lines = [f"[b $error]✘ invalid {escape(str(result.get('schema')))}[/]; {who}"]
    if isinstance(problems, dict):
        lines += [
            f"  • [b]{escape(str(field))}[/]: {escape(str(message))}"
            for field, message in problems.items()
        ]
    return "\n".join(lines)


class DryRunScreen(ModalScreen[None]):
    """A JSON editor and a Check button; the verdict shows under them."""

    AUTO_FOCUS = "#dry-run-payload"  # else the app's own (the channel list), absent here
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
        self._checks = 0

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(
                f"[b]Dry run[/b] on [cyan]{escape(self._channel)}[/] — validated, never delivered"
            )
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
        """Validate the payload as written (the verdict arrives as a message)."""
        result = self.query_one("#dry-run-result", Static)
        text = self.query_one(TextArea).text
        try:
            payload = json.loads(text)
        except json.JSONDecodeError as exc:
            result.update(f"[b $error]✘ not JSON[/]: {exc.msg} (line {exc.lineno})")
            return
        self._checks += 1
        result.update("checking…")
        self._ask(self._checks, payload)

    @work(thread=True, group="dry-run")
    def _ask(self, check: int, payload: Any) -> None:
        # A worker thread: it may wait for another process; it only posts the answer.
        try:
            verdict = self._view.dry_run(self._channel, payload)
        except Exception as exc:  # shown to the person, in the dialog
            self.post_message(DryRunAnswered(check, None, str(exc) or type(exc).__name__))
            return
        self.post_message(DryRunAnswered(check, verdict))

    @on(DryRunAnswered)
    def _answered(self, message: DryRunAnswered) -> None:
        if message.check != self._checks:
            return  # a later check is on its way
        result = self.query_one("#dry-run-result", Static)
        if message.verdict is None:
            result.update(f"[b $error]✘ no verdict[/]: {escape(message.error)}")
        else:
            result.update(describe_result(message.verdict))

    @on(Button.Pressed, "#dry-run-close")
    def _close(self) -> None:
        self.dismiss(None)
