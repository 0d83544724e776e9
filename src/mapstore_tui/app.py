"""``MapStoreApp``: the debug panel over any store. Thin: layout, keys, and actions."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import ClassVar

from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, TabbedContent, TabPane

from mapstore_core import MapObjectStore, map_store
from mapstore_tui.messages import ConnectionChanged
from mapstore_tui.monitor import Monitor
from mapstore_tui.remote_view import ConnectionAware
from mapstore_tui.screens.dry_run import DryRunScreen
from mapstore_tui.screens.help import HelpScreen
from mapstore_tui.view import DryRunCapable, LocalStoreView, StoreView
from mapstore_tui.widgets.channel_list import ChannelList

__all__ = ["MapStoreApp"]


class MapStoreApp(App[None]):
    """The MapStore debug panel.

    Args:
        store: The store to show (default: the process-wide ``map_store``).
        view: Show this read-only view instead of a local store.
        clock: Time source for ages and rates; inject a fixed one in tests.
        refresh_interval: Least time between two redraws (seconds); floods are coalesced.
    """

    CSS_PATH = "app.tcss"
    TITLE = "MapStore"
    AUTO_FOCUS = "#channels"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("l", "show('log')", "Log Producers"),
        Binding("d", "show('doctor')", "Doctor"),
        Binding("e", "show('events')", "Events"),
        Binding("f", "show('flow')", "Flow"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("v", "dry_run", "Dry run"),
        Binding("p", "toggle_pause", "Pause"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit", "Quit"),
        Binding("escape", "close_filter", "Close filter", show=False),
    ]

    def __init__(
        self,
        store: MapObjectStore | None = None,
        *,
        view: StoreView | None = None,
        clock: Callable[[], float] = time.time,
        refresh_interval: float = 1 / 30,
    ) -> None:
        super().__init__()
        self.view: StoreView = view or LocalStoreView(map_store if store is None else store)
        self.clock = clock
        self.refresh_interval = refresh_interval

    def compose(self) -> ComposeResult:
        yield Monitor(
            self.view,
            clock=self.clock,
            refresh_interval=self.refresh_interval,
            extra_panes=self.extra_panes,
            title=self.title + (f" · {self.sub_title}" if self.sub_title else ""),
            id="monitor",
        )
        yield Footer(compact=True, show_command_palette=False)  # ctrl+p: see ? help

    def on_mount(self) -> None:
        if isinstance(self.view, ConnectionAware):
            monitor = self.monitor
            self._unwatch = self.view.on_status(
                lambda status: monitor.post_message(ConnectionChanged(status))
            )
            if self.view.status != "connected":
                monitor.post_message(ConnectionChanged(self.view.status))

    def extra_panes(self) -> Iterable[TabPane]:
        """Panes appended to the bottom tabs (the demo adds its dashboard and jobs)."""
        return ()

    @property
    def monitor(self) -> Monitor:
        """The panel's body."""
        return self.query_one(Monitor)

    # -- actions (each one also in the command palette) ------------------------------------

    def action_show(self, pane: str) -> None:
        """Bring a bottom pane to the front."""
        self.query_one("#global", TabbedContent).active = pane

    def action_filter(self) -> None:
        """Filter channels and events."""
        self.query_one(ChannelList).open_filter()

    def action_close_filter(self) -> None:
        """Clear and hide the filter."""
        channel_list = self.query_one(ChannelList)
        if channel_list.has_class("-filtering"):
            channel_list.close_filter()

    def action_dry_run(self) -> None:
        """Check a payload against the selected channel, without delivering it."""
        channel = self.monitor.selected
        if channel is None:
            return
        if not isinstance(self.view, DryRunCapable) or not self.view.can_dry_run:
            self.notify(
                "The app did not allow dry runs (serve_debug(allow_dry_run=True)).",
                title="Dry run",
                severity="warning",
            )
            return
        values = self.view.values(channel)
        example = next(reversed(values.values())) if values else {}
        self.push_screen(DryRunScreen(self.view, channel, example))

    def action_toggle_pause(self) -> None:
        """Freeze the panel (the store keeps running) or catch up."""
        monitor = self.monitor
        monitor.paused = not monitor.paused
        self.notify(
            "Live updates paused: the store keeps running; press p to catch up."
            if monitor.paused
            else "Live updates resumed.",
            title="Paused" if monitor.paused else "Live",
        )

    def action_help(self) -> None:
        """Show the keys and panels."""
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.key_help()))

    def key_help(self) -> list[tuple[str, str]]:
        """(key, description) of every shown binding."""
        keys = []
        for binding in self.BINDINGS:
            if isinstance(binding, Binding) and binding.show:
                keys.append((binding.key_display or binding.key, binding.description))
        keys.append(("ctrl+p", "command palette: every action by name"))
        return keys

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for binding in self.BINDINGS:
            if not isinstance(binding, Binding) or not binding.show or binding.action == "quit":
                continue
            yield SystemCommand(
                binding.description,
                f"{binding.description} (key: {binding.key_display or binding.key})",
                self._runner(binding.action),
            )

    def _runner(self, action: str) -> Callable[[], object]:
        return lambda: self.run_action(action)
