"""The fleet demo's panel: the fleet panel over a ``DemoFleet``, with ``k`` and ``s``.

The panel is the ordinary ``MapStoreApp`` over a store linked to the demo's namespace as a
read-only observer; it opens on the Processes view, where ``k`` SIGKILLs the highlighted
worker (it goes gone after three missed heartbeats) and ``s`` starts another.
"""

from __future__ import annotations

from collections.abc import Callable

from mapstore_core import MapObjectStore
from mapstore_tui.app import MapStoreApp
from mapstore_tui.fleet_demo import DemoFleet

__all__ = ["FleetDemoApp"]


class FleetDemoApp(MapStoreApp):
    """The panel over the fleet demo's namespace, opening on its processes."""

    def __init__(self, fleet: DemoFleet, *, open_processes: bool = True) -> None:
        store = MapObjectStore()
        self.fleet = fleet
        self.link = store.link(
            fleet.url, namespace=fleet.namespace, observer=True, heartbeat=fleet.heartbeat
        )
        super().__init__(store=store)
        self.sub_title = f"fleet demo · {fleet.namespace}"
        self._open_processes = open_processes
        self._next_role = 0

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
            return f"{name} killed with SIGKILL: gone after 3 missed heartbeats"
        if name in self.fleet.workers:
            return f"{name} is not running"
        return f"{name} was not started by this demo: not killed"

    def start_worker(self) -> str:
        """Start one more worker (web, services, jobs in turn)."""
        role = ("web", "services", "jobs")[self._next_role % 3]
        self._next_role += 1
        return f"started {self.fleet.start_worker(role)} ({role})"

    def close_link(self) -> None:
        """Close the observer's link (idempotent)."""
        self.link.close()
