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
    ("Channels", "↑↓", "every channel: producers (P), consumers (C), messages, rate, trend, age"),
    ("Preview", "1", "the channel's value by its widget; a metric: one card per producer"),
    ("Producers", "2", "id, kind, where registered, publishes, rate, last, state, doctor"),
    ("Consumers", "3", "id, where registered, deliveries, errors"),
    ("History", "4", "recent updates; enter on two of them shows what changed"),
    ("Schema", "5", "the channel's model: fields, types, docstrings"),
    ("Overview", "o", "every producer of the store; / filters, enter opens its channel"),
    ("Events", "e", "registrations, publishes, clears, closes, validation and consumer errors"),
    ("Doctor", "d", "breaches of the registration guide, with where and how to fix them"),
    ("Log Producers", "l", "the guide's debug text; c copies it"),
    ("Data flow", "f", "sources (with where registered) → channels → consumers"),
    ("Dashboard, Jobs", "b, J", "the demo's own widgets, and its AI jobs"),
)


class HelpScreen(ModalScreen[None]):
    """Lists the panels and the key bindings of the app that opened it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close", show=False),
        Binding("q", "dismiss", "Close", show=False),
        Binding("ctrl+c", "app.quit", "Quit", show=False),  # a modal keeps the app's keys out
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 1 2;
    }
    """

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self._keys = keys

    def compose(self) -> ComposeResult:
        keys = Table(title="Keys", title_justify="left", show_header=False, box=None, expand=True)
        for _ in range(2):  # two keys a line: the whole list fits a small terminal
            keys.add_column(style="bold cyan", no_wrap=True)
            keys.add_column(ratio=1)
        half = (len(self._keys) + 1) // 2
        left, right = self._keys[:half], self._keys[half:]
        for index, (key, description) in enumerate(left):
            other = right[index] if index < len(right) else ("", "")
            keys.add_row(key, description, *other)
        panels = Table(
            title="Panels", title_justify="left", show_header=False, box=None, expand=True
        )
        panels.add_column(style="bold", width=15)
        panels.add_column(style="bold cyan", width=4)
        panels.add_column()
        bound = {key for key, _ in self._keys} | {"↑↓"}
        for name, key, description in PANELS:
            if all(part.strip() in bound for part in key.split(",")):  # the demo's panes
                panels.add_row(name, key, description)
        with VerticalScroll():
            yield Static("[b]MapStore debug panel[/b] — who publishes what, from where, live.\n")
            yield Static(keys)
            yield Static("")
            yield Static(panels)
            yield Static(
                "\n[$text-muted]The footer shows the keys that fit; all of them are here. "
                "tab moves the focus; the mouse works too. "
                "escape closes this help · ctrl+p opens the command palette[/]"
            )
