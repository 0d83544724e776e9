"""``MapStoreApp``: the debug panel over any store. Thin: layout, keys, and actions."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.notifications import SeverityLevel
from textual.screen import ModalScreen, Screen
from textual.widgets import TabbedContent, TabPane
from textual.worker import get_current_worker

from mapstore_core import MapObjectStore, map_store
from mapstore_core.debug import ClientStatus
from mapstore_tui import _terminal_safe
from mapstore_tui.flight import flight_dump_path
from mapstore_tui.messages import ConnectionChanged, FlightDumped
from mapstore_tui.monitor import Monitor
from mapstore_tui.remote_view import ConnectionAware
from mapstore_tui.screens.dry_run import DryRunScreen
from mapstore_tui.screens.help import HelpScreen
from mapstore_tui.screens.overview import ProducersOverview
from mapstore_tui.screens.processes import ProcessesScreen, stale_producers
from mapstore_tui.view import DryRunCapable, FlightRecordable, LocalStoreView, StoreView
from mapstore_tui.widgets.channel_list import ChannelList
from mapstore_tui.widgets.footer import PanelFooter
from mapstore_tui.widgets.log_producers import LogProducersPanel

if TYPE_CHECKING:
    from mapstore_core import FlightRecorder
    from mapstore_core.link import StoreLink

_HELD_TOASTS = 3
_OVER_OVERVIEW = frozenset({"help", "quit", "overview", "processes", "command_palette"})

__all__ = ["DETAIL_TABS", "MapStoreApp"]


DETAIL_TABS = ("preview", "producers", "consumers", "history", "schema")
"""The detail tabs, in the order of their keys ``1`` to ``5``."""


class MapStoreApp(App[None]):
    """The MapStore debug panel.

    Args:
        store: The store to show (default: the process-wide ``map_store``).
        view: Show this read-only view instead of a local store.
        clock: Time source for ages and rates; inject a fixed one in tests.
        refresh_interval: Least time between two redraws (seconds); floods are coalesced.
        redraw_clock: Wall time that spaces redraws (default: ``clock``); a replay's
            ``clock`` is the recording's, which stands still or goes back.
    """

    CSS_PATH = "app.tcss"
    TITLE = "MapStore"
    AUTO_FOCUS = "#channels"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "overview", "Overview"),
        Binding("w", "processes", "Processes"),
        Binding("l", "show('log')", "Log Producers"),
        Binding("d", "show('doctor')", "Doctor"),
        Binding("e", "show('events')", "Events"),
        Binding("f", "show('flow')", "Flow"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("v", "dry_run", "Dry run"),
        Binding("v", "no_dry_run", "Dry run", show=False),  # says why not, off the footer
        Binding("c", "copy_log", "Copy", show=False),  # the Log Producers pane says so
        Binding("p", "pause", "Pause"),
        Binding("p", "resume", "Resume"),
        Binding("R", "dump_flight", "Flight recorder", show=False),  # listed by ? and ctrl+p
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit", "Quit"),
        # as in most terminal tools (Textual's own only says "press ctrl+q"); with text
        # selected by the mouse, the screen's ctrl+c copies it first
        Binding("ctrl+c", "quit", "Quit", show=False, system=True),
        Binding("1", "detail('preview')", "Preview", show=False),
        Binding("2", "detail('producers')", "Producers", show=False),
        Binding("3", "detail('consumers')", "Consumers", show=False),
        Binding("4", "detail('history')", "History", show=False),
        Binding("5", "detail('schema')", "Schema", show=False),
        Binding("escape", "close_filter", "Close the filter", show=False),
    ]

    nobody_linked_grace: float | None = 5.0
    """Seconds a linked namespace may have no live process before a toast says so and names
    the namespaces that have one (None: never say it)."""

    def __init__(
        self,
        store: MapObjectStore | None = None,
        *,
        view: StoreView | None = None,
        clock: Callable[[], float] = time.time,
        refresh_interval: float = 1 / 30,
        redraw_clock: Callable[[], float] | None = None,
    ) -> None:
        _terminal_safe.install()  # names from other processes never drive the terminal
        super().__init__()
        self.view: StoreView = view or LocalStoreView(map_store if store is None else store)
        self.clock = clock
        self.redraw_clock = redraw_clock or clock
        self.refresh_interval = refresh_interval
        self._held: list[tuple[str, dict[str, Any]]] = []
        self._unwatch: Callable[[], None] | None = None
        self.flight: FlightRecorder | None = None
        """The window ``R`` writes out (started on mount where the view can record)."""
        self._dumping: set[Path] = set()

    def compose(self) -> ComposeResult:
        yield Monitor(
            self.view,
            clock=self.clock,
            refresh_interval=self.refresh_interval,
            redraw_clock=self.redraw_clock,
            extra_panes=self.extra_panes,
            id="monitor",
        )
        yield PanelFooter()

    def on_mount(self) -> None:
        self.screen_change_signal.subscribe(self, self._screen_changed)
        if isinstance(self.view, FlightRecordable) and self.view.can_record_flight:
            self.flight = self.view.flight_recorder(seconds=60.0, max_events=100_000)
        if isinstance(self.view, ConnectionAware):
            monitor = self.monitor

            def changed(status: ClientStatus) -> None:  # the client's reader thread: post only
                monitor.post_message(ConnectionChanged(str(status), status.detail, status.code))

            self._unwatch = self.view.on_status(changed)
            if self.view.status != "connected":
                changed(ClientStatus(self.view.status))
        reads = getattr(self.view, "reads", None)
        link = reads.linked if isinstance(reads, MapObjectStore) else None
        if link is not None:
            self._say_if_nobody_linked(link)

    @work(thread=True, group="nobody-linked")
    def _say_if_nobody_linked(self, link: StoreLink) -> None:
        """A toast when the linked namespace has no live process (a wrong ``--namespace``?).

        A worker thread: it waits for the link's first reading and ``nobody_linked_grace``
        seconds more for a live process, then asks Redis which namespaces have one.
        """
        from mapstore_tui.fleet_hint import nobody_linked

        worker = get_current_worker()
        grace = self.nobody_linked_grace
        if grace is None:
            return
        for _ in range(50):  # up to 10 s; a closing panel does not wait for it
            if worker.is_cancelled:
                return
            if link.wait_ready(timeout=0.2):
                break
        else:
            return
        # Processes that are starting as the panel opens have the grace to appear.
        deadline = time.monotonic() + grace
        while not any(process.alive for process in link.processes()):
            if worker.is_cancelled:
                return
            if time.monotonic() >= deadline:
                break
            time.sleep(0.1)
        else:
            return
        message = nobody_linked(link)
        if message is not None and not worker.is_cancelled:
            # notify() here looks at the screen (a dialog holds toasts): the UI thread's
            self.call_from_thread(
                self.notify,
                message,
                title="No live process",
                severity="warning",
                timeout=20,
                markup=False,  # names read from Redis
            )

    def on_unmount(self) -> None:
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None
        if self.flight is not None:
            self.flight.close()

    def extra_panes(self) -> Iterable[TabPane]:
        """Panes appended to the bottom tabs (the demo adds its dashboard and jobs)."""
        return ()

    @property
    def monitor(self) -> Monitor:
        """The panel's body."""
        return self.query_one(Monitor)

    # -- toasts wait while a dialog is open ------------------------------------------------

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Show a toast; while a dialog (help, form, dry run) is open it waits until it closes.

        A toast drawn over a dialog hides what the person opened it to read.
        """
        options: dict[str, Any] = {
            "title": title,
            "severity": severity,
            "timeout": timeout,
            "markup": markup,
        }
        if isinstance(self.screen, ModalScreen):
            self._held.append((message, options))
            del self._held[:-_HELD_TOASTS]
            return
        super().notify(message, **options)

    def _screen_changed(self, screen: Screen[Any]) -> None:
        if not isinstance(screen, ModalScreen) and self._held:
            held, self._held = self._held, []
            for message, options in held:
                super().notify(message, **options)

    # -- actions (each one also in the command palette) ------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Pause or Resume (whichever applies); Copy only while Log Producers is shown.

        Dry run only where the view can: else ``v`` says why, and the footer leaves it out.
        Over the producers overview only help, quit and the overview's own keys apply: the
        panel's keys would change panes nobody can see.
        """
        if (
            isinstance(self.screen, ProducersOverview | ProcessesScreen)
            and action not in _OVER_OVERVIEW
        ):
            return False
        if action == "processes":
            return self.has_fleet()
        if action == "dump_flight":
            return self.flight is not None
        if action in ("dry_run", "no_dry_run"):
            return self.can_dry_run() == (action == "dry_run")
        if action in ("pause", "resume", "copy_log", "show", "detail", "filter"):
            try:
                monitor = self.monitor
            except NoMatches:
                return True
            if action == "pause":
                return not monitor.paused
            if action == "resume":
                return monitor.paused
            if action == "copy_log":
                return self.query_one("#global", TabbedContent).active == "log"
        return True

    def action_show(self, pane: str) -> None:
        """Bring a bottom pane to the front."""
        self.query_one("#global", TabbedContent).active = pane

    def action_detail(self, tab: str) -> None:
        """Bring a detail tab of the selected channel to the front."""
        self.query_one("#detail", TabbedContent).active = tab

    def action_filter(self) -> None:
        """Filter channels and events."""
        self.query_one(ChannelList).open_filter()

    def action_close_filter(self) -> None:
        """Clear and hide the filter."""
        channel_list = self.query_one(ChannelList)
        if channel_list.has_class("-filtering"):
            channel_list.close_filter()

    def action_overview(self) -> None:
        """Every producer of the store in one table; enter opens its channel."""
        if isinstance(self.screen, ProducersOverview):
            self.screen.dismiss(None)
            return
        monitor = self.monitor

        def producers() -> tuple[list[dict[str, Any]], dict[tuple[str, str], list[str]]]:
            return monitor.producers_with_rates() + stale_producers(self.view), (
                monitor.doctor_flags()
            )

        self.push_screen(ProducersOverview(producers, now=self.clock), self._open_channel)

    def action_processes(self) -> None:
        """The processes of the linked fleet: alive or gone, producers, rate, drops, models."""
        if isinstance(self.screen, ProcessesScreen):
            self.screen.dismiss(None)
            return
        processes = getattr(self.view, "processes", None)
        if not callable(processes) or not self.has_fleet():
            self.notify(
                "This store is not linked: w shows the processes of a linked namespace "
                "(store.link(...), or mapstore-tui attach redis://HOST:PORT/DB --namespace NS).",
                title="Processes",
                severity="warning",
            )
            return
        kill, start = self.fleet_controls()
        attach = getattr(self.view, "attach_command", None)
        self.push_screen(
            ProcessesScreen(
                processes,
                now=self.clock,
                kill=kill,
                start=start,
                title=self.sub_title,
                attach=attach if isinstance(attach, str) else None,
                link_status=lambda: getattr(self.view, "link_status", None),
            )
        )

    def fleet_controls(
        self,
    ) -> tuple[Callable[[str], str] | None, Callable[[], str] | None]:
        """(kill a process, start one) for the Processes view; the fleet demo has both."""
        return None, None

    def _open_channel(self, channel: str | None) -> None:
        if channel is None:
            return
        channel_list = self.query_one(ChannelList)
        if channel_list.has_class("-filtering"):
            channel_list.close_filter()  # a filter could hide the channel asked for
        channel_list.select(channel)
        self.monitor.selected = channel
        self.action_detail("producers")
        channel_list.table.focus()

    def action_copy_log(self) -> None:
        """Copy the Log Producers text (or the part selected with the mouse)."""
        self.query_one(LogProducersPanel).copy(self.view.log_producers())

    def can_dry_run(self) -> bool:
        """Whether the view can check a payload (an attached app must allow it)."""
        return isinstance(self.view, DryRunCapable) and self.view.can_dry_run

    def action_dry_run(self) -> None:
        """Check a payload against the selected channel, without delivering it."""
        channel = self.monitor.selected
        if channel is None or not isinstance(self.view, DryRunCapable):
            return
        values = self.view.values(channel)
        example = next(reversed(values.values())) if values else {}
        self.push_screen(DryRunScreen(self.view, channel, example))

    def action_no_dry_run(self) -> None:
        """Say why there is no dry run here."""
        self.notify(
            "The app did not allow dry runs (serve_debug(allow_dry_run=True)).",
            title="Dry run",
            severity="warning",
        )

    def action_pause(self) -> None:
        """Freeze the panel; the store keeps running."""
        if not self.monitor.paused:
            self.action_toggle_pause()

    def action_resume(self) -> None:
        """Catch up with the store and follow it live again."""
        if self.monitor.paused:
            self.action_toggle_pause()

    def action_toggle_pause(self) -> None:
        """Freeze the panel (the store keeps running) or catch up."""
        monitor = self.monitor
        monitor.paused = not monitor.paused
        self.refresh_bindings()
        self.notify(
            "Live updates paused: the store keeps running; press p to catch up."
            if monitor.paused
            else "Live updates resumed.",
            title="Paused" if monitor.paused else "Live",
        )

    def action_dump_flight(self) -> None:
        """Write the last minute of the store to a recording (mapstore-tui replay FILE)."""
        if self.flight is None:
            return
        path = flight_dump_path(self.clock(), Path.cwd(), self._dumping)
        self._dumping.add(path)
        self.notify(f"Writing {path}…", title="Flight recorder")
        self._dump_flight(self.flight, path)

    @work(thread=True, group="flight")
    def _dump_flight(self, flight: FlightRecorder, path: Path) -> None:
        # A worker thread (a full window takes about a second); it only posts the outcome.
        try:
            stats = flight.dump(path)
        except Exception as exc:  # a full disk, a read-only directory: told in a toast
            self.post_message(FlightDumped(str(path), error=str(exc) or type(exc).__name__))
            return
        self.post_message(FlightDumped(str(path), events=stats["events"]))

    @on(FlightDumped)
    def _flight_dumped(self, message: FlightDumped) -> None:
        self._dumping.discard(Path(message.path))
        if message.error:
            self.notify(message.error, title="Flight recorder", severity="error", markup=False)
            return
        self.notify(
            f"{message.events:,} events written to {message.path} "
            f"(open it with: mapstore-tui replay {message.path})",
            title="Flight recorder",
            markup=False,
        )

    def screenshot(self) -> None:
        """Save an SVG of the screen in the current directory; a toast says where.

        Textual's own saves into the Downloads folder, which a server or a container
        seldom has: "Failed to save screenshot", and no file. (In a browser, the browser
        gets the file.)
        """
        self.deliver_screenshot(path=str(Path.cwd()))

    @on(events.DeliveryFailed)
    def _screenshot_failed(self, event: events.DeliveryFailed) -> None:
        if event.name == "screenshot":  # say why (Textual's own toast does not)
            event.prevent_default()
            self.notify(
                f"Could not save the screenshot in {Path.cwd()}: {event.exception}",
                title="Screenshot",
                severity="error",
                markup=False,
            )

    def action_help(self) -> None:
        """Show every key, how to reach each pane, and what each pane shows."""
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.key_help()))

    def key_help(self) -> list[tuple[str, str]]:
        """(key, description) of every binding.

        Each key once (Pause/Resume share ``p``); two keys of one action on one line
        (``q, ctrl+c``).
        """
        keys: dict[str, str] = {}
        by_action: dict[str, str] = {}
        for binding in self._all_bindings():
            key = binding.key_display or binding.key
            same = by_action.get(binding.action)
            if same is not None and keys[same] == binding.description:
                keys = {f"{k}, {key}" if k == same else k: d for k, d in keys.items()}
                by_action[binding.action] = f"{same}, {key}"
            elif key in keys:
                if binding.description not in keys[key].split(" / "):
                    keys[key] += f" / {binding.description}"
            else:
                keys[key] = binding.description
                by_action[binding.action] = key
        keys["tab"] = "focus: list, then panes"
        keys["ctrl+p"] = "every action by name"
        return list(keys.items())

    def _all_bindings(self) -> list[Binding]:
        return [b for b in self.BINDINGS if isinstance(b, Binding) and self.offers(b.action)]

    def offers(self, action: str) -> bool:
        """Whether this panel has ``action`` at all (help and the palette list only those).

        Processes only over a linked store; the flight recorder only where one runs.
        """
        if action == "processes":
            return self.has_fleet()
        if action == "dump_flight":
            return self.flight is not None
        return True

    def has_fleet(self) -> bool:
        """Whether the view is of a linked store (only then is there a Processes view)."""
        return callable(getattr(self.view, "processes", None)) and bool(
            getattr(self.view, "linked", True)
        )

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        titles = set()
        for command in super().get_system_commands(screen):
            if command.title == "Screenshot":  # Textual's: into ~/Downloads, often missing
                command = SystemCommand(
                    "Screenshot",
                    "Save an SVG screenshot of this screen in the current directory",
                    lambda: self.set_timer(0.1, self.screenshot),  # once the palette is gone
                )
            titles.add(command.title)
            yield command
        for binding in self._all_bindings():
            if binding.action in ("quit", "close_filter") or binding.description in titles:
                continue
            if not self.applies(binding.action.split("(")[0]):
                continue  # Pause while paused, Copy while the log is hidden
            titles.add(binding.description)
            yield SystemCommand(
                binding.description,
                f"{self._explain(binding)} · key {binding.key_display or binding.key}",
                self._runner(binding.action),
            )

    def applies(self, action: str) -> bool:
        """Whether the command palette offers ``action`` now (as its key would run)."""
        return self.check_action(action, ()) is not False

    def _explain(self, binding: Binding) -> str:
        name = binding.action.partition("(")[0]
        if name in ("show", "detail"):  # named as on screen, not by the pane's id
            return f"show the {binding.description} {'pane' if name == 'show' else 'tab'}"
        method = getattr(self, f"action_{name}", None)
        doc = (method.__doc__ or "").strip().splitlines() if method else []
        return doc[0].rstrip(".") if doc else name

    def _runner(self, action: str) -> Callable[[], object]:
        return lambda: self.run_action(action)
