"""``DemoApp``: the panel over a store fed by the simulated sources of every pattern."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import ClassVar

from textual import on
from textual.binding import Binding, BindingType
from textual.containers import Container, Vertical
from textual.widgets import TabPane

from mapstore_core import JobManager, MapObjectStore, ParagraphContent
from mapstore_tui.app import MapStoreApp
from mapstore_tui.demo import DemoSources
from mapstore_tui.demo.form_screen import FormScreen
from mapstore_tui.widgets.jobs import JobChanged, JobsTable
from mapstore_tui.widgets.previews import MetricWidget, ParagraphWidget, TableWidget

__all__ = ["DemoApp"]


class DemoApp(MapStoreApp):
    """The demo: ``j`` submits an AI job, ``i`` opens the form, ``r`` refreshes market data.

    Args:
        seed: Seed of the simulated data (reproducible runs).
        antipatterns: Add sources that break the guide, for the doctor to find.
        live: Drive the sources from background threads; tests pass False and step them.
        clock: Time source of the store and the panel.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "submit_job", "AI job"),
        Binding("i", "open_form", "Form"),
        Binding("r", "refresh_market", "Refresh"),
        *MapStoreApp.BINDINGS,
        Binding("b", "show('dashboard-pane')", "Dashboard", show=False),
        Binding("J", "show('jobs')", "Jobs", key_display="J", show=False),
    ]

    def __init__(
        self,
        *,
        seed: int | None = None,
        antipatterns: bool = False,
        live: bool = True,
        clock: Callable[[], float] = time.time,
        refresh_interval: float = 1 / 30,
    ) -> None:
        self.store = MapObjectStore(clock=clock)
        self.jobs = JobManager()
        self.sources = DemoSources(self.store, seed=seed, antipatterns=antipatterns, jobs=self.jobs)
        self.live = live
        super().__init__(self.store, clock=clock, refresh_interval=refresh_interval)
        self.sub_title = "demo"

    def extra_panes(self) -> Iterable[TabPane]:
        yield TabPane(
            "Dashboard",
            Container(
                ParagraphWidget(store=self.store, consumer_id="paragraph-widget"),
                TableWidget(store=self.store, consumer_id="table-widget"),
                Vertical(
                    MetricWidget(
                        store=self.store, consumer_id="metric-widget", producer="realtime-service"
                    ),
                    MetricWidget(
                        store=self.store,
                        consumer_id="latency-widget",
                        producer="polling-service",
                    ),
                    id="dashboard-metrics",
                ),
                id="dashboard",
            ),
            id="dashboard-pane",
        )
        yield TabPane("Jobs", JobsTable(id="jobs-table"), id="jobs")

    def on_mount(self) -> None:
        # Paint the empty panel first, then let the sources register: a person sees the
        # app at once and watches the registrations arrive (also in the event log).
        self.call_after_refresh(self._start_sources)

    def _start_sources(self) -> None:
        self.sources.start()
        if self.live:
            self.sources.run_threads()

    def on_unmount(self) -> None:
        self.sources.close()

    def action_submit_job(self) -> None:
        """Submit a simulated AI summarisation job (some fail)."""
        job_id = self.sources.summaries.submit()
        self.jobs.subscribe(job_id, lambda update: self.post_message(JobChanged()))
        self._show_jobs()
        self.action_show("jobs")
        self.notify(f"Job {job_id} submitted; its bridge is job-bridge:{job_id}.", title="AI job")

    @on(JobChanged)
    def _show_jobs(self) -> None:
        self.query_one(JobsTable).jobs = self.jobs.jobs()

    def action_open_form(self) -> None:
        """Open the user input form."""
        self.push_screen(FormScreen(self.sources.form), self._form_done)

    def _form_done(self, value: ParagraphContent | None) -> None:
        if value is not None:
            self.notify(f"Published “{value.title}” to paragraph-content.", title="Form")

    def action_refresh_market(self) -> None:
        """Fetch market data again."""
        self.sources.refresh_market()
