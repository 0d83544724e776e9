"""One worker process of the fleet demo: a store linked to the namespace, playing one role.

``python -m mapstore_tui.fleet_worker URL NAMESPACE NAME ROLE [--heartbeat S]``. Roles:

- ``web``: a web worker: widgets that consume the metric, paragraph and table channels and
  the ``order-events`` channel (current model);
- ``services``: the REST service (``market-data-service``), the realtime stream
  (``realtime-service``), the polling service (``polling-service``) and an order feed;
- ``jobs``: AI summarisation jobs published through the job→widget bridge;
- ``polling-copy`` (anti-pattern): a second copy of the polling service, from the same source;
- ``old-schema`` (anti-pattern): a worker still on the older ``order-events`` model.

It prints ``ready`` once linked and runs until SIGTERM, SIGINT or SIGHUP (or, with
``--until-stdin-closes``, until its stdin reaches end-of-file: the demo that started it
died, see ``_lifeline``), then closes its sources and its link. If that takes longer than
``STOP_GRACE`` seconds (a Redis that is gone as well), it exits anyway: a worker never
outlives its demo for long.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict

from mapstore_core import JobManager, MapObjectStore, WidgetChannels, create_widget_consumer
from mapstore_tui._lifeline import watch_stdin

__all__ = ["ORDER_CHANNEL", "ROLES", "STOP_GRACE", "OrderEvent", "OrderEventV1", "main"]

ORDER_CHANNEL = "order-events"
ROLES = ("web", "services", "jobs", "polling-copy", "old-schema")
STOP_GRACE = 5.0
"""Seconds a stopping worker has to close its sources and link before it exits regardless."""


class OrderEvent(BaseModel):
    """An order as the current code sends it."""

    model_config = ConfigDict(extra="forbid")

    order_id: str
    total: float
    currency: str = "EUR"


class OrderEventV1(BaseModel):
    """The older model: numeric ids, no currency. A payload of the new one breaks it."""

    model_config = ConfigDict(extra="forbid")

    order_id: int
    total: float


class _Worker:
    def __init__(self, store: MapObjectStore, role: str, seed: int) -> None:
        self.store = store
        self.role = role
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.finished = threading.Event()
        self.loops: list[tuple[float, Callable[[], object]]] = []
        self.closers: list[Callable[[], None]] = []

    def start(self) -> None:
        getattr(self, "_" + self.role.replace("-", "_"))()

    def _web(self) -> None:
        self.store.define_channel(ORDER_CHANNEL, OrderEvent)
        for channel in WidgetChannels:
            consumer = create_widget_consumer(channel, f"{channel.value}-widget", store=self.store)
            self.closers.append(consumer.close)
        orders = self.store.register_consumer(ORDER_CHANNEL, "orders-widget", callback=_ignore)
        self.closers.append(orders.close)

    def _services(self) -> None:
        from mapstore_tui.demo.market_data import MarketDataService
        from mapstore_tui.demo.realtime import RealtimeConnection

        self.store.define_channel(ORDER_CHANNEL, OrderEvent)
        market = MarketDataService(self.store, self.rng)
        market.refresh()
        realtime = RealtimeConnection(self.store, self.rng)
        realtime.connect()
        self._polling()
        orders = self.store.register_producer(ORDER_CHANNEL, "order-feed")
        count = iter(range(1, 10**9))

        def order() -> None:
            orders.publish(
                {"order_id": f"A-{next(count)}", "total": round(self.rng.uniform(5, 500), 2)}
            )

        self.loops += [(5.0, market.refresh), (0.25, realtime.on_message), (0.5, order)]
        self.closers += [market.close, realtime.disconnect, orders.close]

    def _polling(self) -> None:
        from mapstore_tui.demo.polling import PollingService

        polling = PollingService(self.store, self.rng)
        polling.start()
        polling.poll()
        self.loops.append((polling.INTERVAL, polling.poll))
        self.closers.append(polling.close)

    def _polling_copy(self) -> None:
        self._polling()

    def _jobs(self) -> None:
        from mapstore_tui.demo.ai_job import SummarizationJobs

        jobs = SummarizationJobs(self.store, JobManager(), self.rng)
        jobs.submit(fail=False)

        def submit() -> None:
            if len(jobs.running) < 2:
                jobs.submit()

        self.loops += [(0.4, jobs.step), (4.0, submit)]
        self.closers.append(jobs.close)

    def _old_schema(self) -> None:
        self.store.define_channel(ORDER_CHANNEL, OrderEventV1)
        orders = self.store.register_consumer(ORDER_CHANNEL, "orders-report", callback=_ignore)
        self.closers.append(orders.close)

    def run(self) -> None:
        threads = [
            threading.Thread(target=self._loop, args=loop, daemon=True) for loop in self.loops
        ]
        for thread in threads:
            thread.start()
        self.stop.wait()
        for thread in threads:
            thread.join(timeout=5)
        for close in reversed(self.closers):
            close()

    def _loop(self, interval: float, tick: Callable[[], object]) -> None:
        while not self.stop.wait(interval):
            try:
                tick()
            except Exception as exc:  # a demo source failing must not end the worker
                print(f"{self.role}: {exc}", file=sys.stderr, flush=True)


def _exit_unless_finished(worker: _Worker) -> None:
    """Once told to stop, give the worker ``STOP_GRACE`` seconds, then end the process."""
    worker.stop.wait()
    if not worker.finished.wait(STOP_GRACE):
        print(f"not stopped within {STOP_GRACE:g} s: exiting now", file=sys.stderr, flush=True)
        os._exit(1)


def _ignore(_update: Any) -> None:
    """A consumer that only displays (the demo's widgets draw nothing headless)."""


def main(argv: list[str] | None = None) -> int:
    """Run one worker until told to stop."""
    parser = argparse.ArgumentParser(prog="mapstore_tui.fleet_worker")
    parser.add_argument("url")
    parser.add_argument("namespace")
    parser.add_argument("name")
    parser.add_argument("role", choices=ROLES)
    parser.add_argument("--heartbeat", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--until-stdin-closes", action="store_true")
    args = parser.parse_args(argv)
    store = MapObjectStore()
    worker = _Worker(store, args.role, args.seed)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: worker.stop.set())
    if args.until_stdin_closes:
        watch_stdin(worker.stop.set)
    threading.Thread(target=_exit_unless_finished, args=(worker,), daemon=True).start()
    link = store.link(args.url, namespace=args.namespace, name=args.name, heartbeat=args.heartbeat)
    try:
        worker.start()
        print("ready", flush=True)
        worker.run()
    finally:
        link.close()
        worker.finished.set()
    return 0


if __name__ == "__main__":
    sys.exit(main())
