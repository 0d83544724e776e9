"""The fleet demo's panel: the fleet panel over a ``DemoFleet``, with ``k`` and ``s``.

The panel is the ordinary ``MapStoreApp`` over a store linked to the demo's namespace as a
read-only observer; it opens on the Processes view, where ``k`` SIGKILLs the highlighted
worker (it goes gone after three missed heartbeats; the highlight stays on it, and a second
``k`` there says it is already dead) and ``s`` starts a worker in place of the first one
killed, else one more, and says which.
"""

from __future__ import annotations

from collections.abc import Callable

from mapstore_core import MapObjectStore
from mapstore_tui.app import MapStoreApp
from mapstore_tui.fleet_demo import DemoFleet

__all__ = ["FleetDemoApp"]


class FleetDemoApp(MapStoreApp):
    """The panel over the fleet demo's namespace, opening on its processes."""

    nobody_linked_grace = None  # its own private namespace, its workers starting: no typo

    def __init__(self, fleet: DemoFleet, *, open_processes: bool = True) -> None:
        store = MapObjectStore()
        self.fleet = fleet
        self.link = store.link(
            fleet.url, namespace=fleet.namespace, observer=True, heartbeat=fleet.heartbeat
        )
        super().__init__(store=store)
        self.sub_title = f"fleet demo · {fleet.namespace}"
        self._open_processes = open_processes

    def on_mount(self) -> None:
        super().on_mount()
        if self._open_processes:
            self.action_processes()

    def fleet_controls(
        self,
    ) -> tuple[Callable[[str], str] | None, Callable[[], str] | None]:
        return self.kill_worker, self.start_worker

    def kill_worker(self, name: str) -> str:
        """SIGKILL a worker this demo started; say what happened."""
        if self.fleet.kill(name):
            return (
                f"{name} killed with SIGKILL: gone after 3 missed heartbeats; "
                "s starts a worker in its place"
            )
        if name in self.fleet.workers:
            successor = self.fleet.replaced.get(name)
            instead = f" ({successor} took its place)" if successor else ""
            return f"{name} is already dead{instead}: nothing killed"
        return f"{name} was not started by this demo: not killed"

    def start_worker(self) -> str:
        """Start a worker in place of the first one killed, else one more; say which."""
        name, replaces = self.fleet.replace_or_add()
        role = self.fleet.role_of[name]
        if replaces is None:
            return f"started {name}: one more {role} worker"
        how = "killed" if replaces in self.fleet.killed else "ended"
        return f"started {name} ({role}) in place of {replaces} ({how})"

    def close_link(self) -> None:
        """Close the observer's link (idempotent)."""
        self.link.close()
