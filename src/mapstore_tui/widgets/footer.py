"""``PanelFooter``: the keys that fit, the most important first; ``?`` lists them all.

Textual's ``Footer`` shows every key in one row and lets the rest fall off the right edge.
This one keeps the keys in their order but, when they do not fit, leaves out the least
important (the ones later in ``IMPORTANT``'s absence) until the row fits: help and quit stay.
"""

from __future__ import annotations

from collections import defaultdict

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

__all__ = ["IMPORTANT", "PanelFooter"]

IMPORTANT = (
    "help",
    "quit",
    # a replay's timeline (no live panel has these)
    "play",
    "pause_replay",
    "step_back",
    "step_forward",
    "next_marker",
    "skip_producer",
    "undo_what_if",
    "overview",
    "filter",
    "pause",
    "resume",
    "copy_log",
)
"""Actions kept first when the row is short, in this order."""


def _cost(key: str, description: str) -> int:
    return cell_len(key) + cell_len(description) + 3


class PanelFooter(Footer):
    """A compact footer that always fits (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__(compact=True, show_command_palette=False)
        self._laid_out_for = -1
        self._drawn: tuple[object, ...] = ()
        self.shown_actions: list[str] = []
        """The actions in the footer as last drawn (for tests and help)."""

    def _shown_bindings(self) -> dict[str, tuple[Binding, bool, str]]:
        by_action: dict[str, tuple[Binding, bool, str]] = {}
        for _, binding, enabled, tooltip in self.screen.active_bindings.values():
            if binding.show and binding.action not in by_action:
                by_action[binding.action] = (binding, enabled, tooltip)
        return by_action

    def _signature(self) -> tuple[object, ...]:
        shown = self._shown_bindings()
        return (self.app.size.width, *((a, b.description, e) for a, (b, e, _) in shown.items()))

    def bindings_changed(self, screen: Screen[object]) -> None:
        """Recompose only when what the footer shows changes.

        Textual signals a bindings update on every focus change and ``refresh_bindings``;
        rebuilding a dozen keys each time costs the UI thread for nothing.
        """
        self._bindings_ready = True
        if not screen.app.app_focus or not self.is_attached or screen is not self.screen:
            return
        if self._signature() != self._drawn:
            self.call_after_refresh(self.recompose)

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        self._drawn = self._signature()
        by_action = self._shown_bindings()
        width = self.app.size.width
        rank = defaultdict(lambda: len(IMPORTANT), {a: i for i, a in enumerate(IMPORTANT)})
        chosen: set[str] = set()
        used = 0
        for action in sorted(by_action, key=lambda a: rank[a]):  # stable: order kept in a rank
            binding = by_action[action][0]
            cost = _cost(self.app.get_key_display(binding), binding.description)
            if used + cost > width:
                continue
            chosen.add(action)
            used += cost
        self.shown_actions = [a for a in by_action if a in chosen]
        self.styles.grid_size_columns = max(1, len(self.shown_actions))
        for action in self.shown_actions:
            binding, enabled, tooltip = by_action[action]
            yield FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                disabled=not enabled,
                tooltip=tooltip,
            ).data_bind(compact=Footer.compact)

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._laid_out_for:
            self._laid_out_for = event.size.width
            if self._signature() != self._drawn:
                self.refresh(recompose=True)
