"""``DemoSources``: every demo source on one store, started and stopped together."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable

from mapstore_core import JobManager, MapObjectStore
from mapstore_tui.demo.ai_job import SummarizationJobs
from mapstore_tui.demo.antipatterns import AntipatternSources
from mapstore_tui.demo.market_data import MarketDataService
from mapstore_tui.demo.polling import PollingService
from mapstore_tui.demo.realtime import RealtimeConnection
from mapstore_tui.demo.static_page import StaticPage
from mapstore_tui.demo.user_form import UserInputForm


class DemoSources:
    """The demo's data sources: seeded, steppable by hand, or run on background threads.

    Tests call the ``tick_*`` methods directly for determinism; ``run_threads`` drives them
    from real threads, as a live app would. ``headless`` (``serve-demo``): no demo panel
    drives them, so the welcome text names no demo key.
    """

    REALTIME_INTERVAL = 0.25
    JOB_INTERVAL = 0.4
    ANTIPATTERN_INTERVAL = 1.5

    def __init__(
        self,
        store: MapObjectStore,
        *,
        seed: int | None = None,
        antipatterns: bool = False,
        jobs: JobManager | None = None,
        headless: bool = False,
    ) -> None:
        self.store = store
        self.rng = random.Random(seed)
        self.jobs = jobs or JobManager()
        self.page = StaticPage(store, headless=headless)
        self.market: MarketDataService | None = None
        self.realtime = RealtimeConnection(store, self.rng)
        self.polling = PollingService(store, self.rng)
        self.form = UserInputForm(store)
        self.summaries = SummarizationJobs(store, self.jobs, self.rng)
        self.antipatterns = AntipatternSources(store) if antipatterns else None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.started = False

    def start(self) -> None:
        """Register every source where the guide says, and publish the initial data."""
        if self.started:
            return
        self.started = True
        self.page.load()
        self.market = MarketDataService(self.store, self.rng)
        self.market.refresh()
        self.realtime.connect()
        self.realtime.on_message()
        self.polling.start()
        self.polling.poll()
        self.form.mount()
        if self.antipatterns is not None:
            self.antipatterns.start()
            self.antipatterns.tick()

    def refresh_market(self) -> None:
        """The user asked for fresh market data."""
        if self.market is not None:
            self.market.refresh()

    def tick_realtime(self) -> None:
        """One message from the live stream."""
        self.realtime.on_message()

    def tick_polling(self) -> None:
        """One poll."""
        self.polling.poll()

    def tick_jobs(self) -> None:
        """One step of every running job."""
        self.summaries.step()

    def tick_antipatterns(self) -> None:
        """One round of the misbehaving sources."""
        if self.antipatterns is not None:
            self.antipatterns.tick()

    def run_threads(self) -> None:
        """Drive the sources from background threads until ``close()``."""
        loops: list[tuple[str, float, Callable[[], None]]] = [
            ("realtime-stream", self.REALTIME_INTERVAL, self.tick_realtime),
            ("polling-loop", self.polling.INTERVAL, self.tick_polling),
            ("job-runner", self.JOB_INTERVAL, self.tick_jobs),
        ]
        if self.antipatterns is not None:
            loops.append(("antipatterns", self.ANTIPATTERN_INTERVAL, self.tick_antipatterns))
        for name, interval, tick in loops:
            thread = threading.Thread(
                target=self._loop, args=(interval, tick), name=f"demo-{name}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _loop(self, interval: float, tick: Callable[[], None]) -> None:
        while not self._stop.wait(interval):
            tick()

    def close(self) -> None:
        """Stop the threads and close every source's producer; idempotent."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()
        if not self.started:
            return
        self.started = False
        self.summaries.close()
        self.form.unmount()
        self.polling.close()
        self.realtime.disconnect()
        if self.market is not None:
            self.market.close()
            self.market = None
        self.page.unload()
        if self.antipatterns is not None:
            self.antipatterns.close()

    def stop(self) -> None:
        """An alias of ``close()``, kept for code written before it."""
        self.close()
