"""The help screen (``?``): what each panel shows and every key."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

__all__ = ["HelpScreen"]

PANELS = (
    ("Channels", "every channel: producers (P), consumers (C), messages, rate, trend, age"),
    ("Preview", "the selected channel's value, drawn by its widget (raw channels as JSON)"),
    ("Producers", "id, kind, where it was registered, publishes, last publish, state, doctor"),
    ("Consumers", "id, where registered, deliveries, errors"),
    ("History", "recent updates; enter on two of them shows what changed"),
    ("Schema", "the channel's model: fields, types, docstrings"),
    ("Events", "registrations, publishes, clears, closes, validation and consumer errors"),
    ("Doctor", "breaches of the registration guide, with where and how to fix them"),
    ("Log Producers", "the guide's debug text; c copies it"),
    ("Data flow", "sources → channels → consumers"),
)


class HelpScreen(ModalScreen[None]):
    """Lists the panels and the key bindings of the app that opened it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close", show=False),
        Binding("q", "dismiss", "Close", show=False),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90; height: auto; max-height: 90%;
        border: thick $primary; background: $surface; padding: 1 2;
    }
    """

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self._keys = keys

    def compose(self) -> ComposeResult:
        keys = Table(title="Keys", title_justify="left", show_header=False, box=None, expand=True)
        keys.add_column(style="bold cyan", width=10)
        keys.add_column()
        for key, description in self._keys:
            keys.add_row(key, description)
        panels = Table(
            title="Panels", title_justify="left", show_header=False, box=None, expand=True
        )
        panels.add_column(style="bold", width=14)
        panels.add_column()
        for name, description in PANELS:
            panels.add_row(name, description)
        with VerticalScroll():
            yield Static("[b]MapStore debug panel[/b] — who publishes what, from where, live.\n")
            yield Static(keys)
            yield Static("")
            yield Static(panels)
            yield Static(
                "\n[$text-muted]escape closes this help · ctrl+p opens the command palette[/]"
            )
