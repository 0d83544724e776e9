"""A deterministic fleet for the fleet tests: linked stores in this process on a real Redis.

Every store has a frozen clock, so timestamps, ages and rates are the same on every run. Its
processes are real links (announcements, heartbeats, streams on the real Redis); ``crash``
stops one the way SIGKILL would: no goodbye, its heartbeats simply stop.
"""

from __future__ import annotations

import subprocess
import sys
from contextlib import ExitStack
from typing import Any

from mapstore_core import MapObjectStore, StoreLink, WidgetChannels, create_widget_publisher
from mapstore_tui.fleet_worker import OrderEvent, OrderEventV1
from mapstore_tui.view import LocalStoreView
from tests.conftest import FakeClock
from tests.poll import poll_until

NS = "fleet"
BEAT = 0.2


def start_polling(store: MapObjectStore, value: float) -> Any:
    """The polling service: one source line, whichever process runs it."""
    producer = create_widget_publisher(WidgetChannels.METRIC_DATA, "polling-service", store=store)
    producer.publish({"label": "Queue depth", "value": value})
    return producer


def crash(link: StoreLink) -> None:
    """Stop a link as SIGKILL would: its threads end without a goodbye; heartbeats stop."""
    _silence(link)  # (the registrations below keep their line numbers: the snapshots show them)
    link.close()


class Fleet:
    """services-1, services-2 (a second polling copy), web-1, web-old-1 (older model) and
    jobs-1, each a store linked to one namespace, and an observer store for the panel."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.clock = FakeClock()
        self.stack = ExitStack()
        self.stores: dict[str, MapObjectStore] = {}
        self.links: dict[str, StoreLink] = {}
        self.handles: list[Any] = []

    def store(self, name: str) -> MapObjectStore:
        store = self.stores[name] = MapObjectStore(clock=self.clock)
        return store

    def link(self, name: str) -> StoreLink:
        link = self.stores[name].link(self.url, namespace=NS, name=name, heartbeat=BEAT)
        self.links[name] = link
        self.stack.callback(link.close)
        return link

    def start(self) -> Fleet:
        services = self.store("services-1")
        services.define_channel("order-events", OrderEvent)
        realtime = create_widget_publisher(
            WidgetChannels.METRIC_DATA, "realtime-service", store=services
        )
        realtime.publish({"label": "Active users", "value": 1841, "change": 12.5})
        table = create_widget_publisher(
            WidgetChannels.TABLE_DATA, "market-data-service", store=services
        )
        table.publish(
            {"title": "Prices", "headers": ["Symbol", "Price"], "rows": [["ACME", 101.5]]}
        )
        orders = services.register_producer("order-events", "order-feed")
        orders.publish({"order_id": "A-1", "total": 12.5})
        self.handles += [realtime, table, orders, start_polling(services, 42)]
        copy = self.store("services-2")
        self.handles.append(start_polling(copy, 43))
        web = self.store("web-1")
        web.define_channel("order-events", OrderEvent)
        for channel in WidgetChannels:
            web.register_consumer(channel, f"{channel.value}-widget")
        web.register_consumer("order-events", "orders-widget")
        old = self.store("web-old-1")
        old.define_channel("order-events", OrderEventV1)
        old.register_consumer("order-events", "orders-report")
        jobs = self.store("jobs-1")
        summary = create_widget_publisher(
            WidgetChannels.PARAGRAPH_CONTENT, "summary-service", store=jobs
        )
        summary.publish({"title": "Daily summary", "content": "All systems nominal."})
        self.handles.append(summary)
        for name in self.stores:
            self.link(name)
        # every process announced before the observer joins (a joiner skips entries of
        # processes it does not know to be alive yet; they would come with the next publish)
        poll_until(
            lambda: {p.name for p in self.links["web-1"].processes()} == set(self.stores),
            what="every process to announce itself",
        )
        self.observer_store = MapObjectStore(clock=self.clock)
        # the panel lists channels in the order its store first saw them: fix that order
        self.observer_store.define_channel("order-events", OrderEvent)
        self.observer = self.observer_store.link(
            self.url, namespace=NS, observer=True, heartbeat=BEAT
        )
        self.stack.callback(self.observer.close)
        poll_until(self._everyone_seen, what="the observer to see the whole fleet")
        return self

    def _everyone_seen(self) -> bool:
        seen = {
            p.name
            for p in self.observer_store.processes()
            if (p.alive and p.producers) or p.consumers
        }
        producers = self.observer_store.producers()
        return seen >= set(self.stores) and len(producers) == 6

    def crash(self, name: str) -> None:
        crash(self.links[name])
        poll_until(
            lambda: any(
                p.name == name and not p.alive and p.stale for p in self.observer_store.processes()
            ),
            what=f"{name} to be seen gone",
        )

    def close(self) -> None:
        self.stack.close()


class PinnedView(LocalStoreView):
    """The observer's view with what the OS and the wall clock decide pinned.

    pids, host, program, start time, heartbeat age, publish rate, the time a process went and
    the Redis socket's temporary directory are real but differ on every run; the snapshots
    pin them (everything else is real).
    """

    def __init__(self, store: MapObjectStore, clock: FakeClock) -> None:
        super().__init__(store)
        self.clock = clock

    @property
    def attach_command(self) -> str | None:
        command = super().attach_command
        if command is None:
            return None
        program, verb, url, *rest = command.split()
        return " ".join([program, verb, "unix:///tmp/…/" + url.rsplit("/", 1)[-1], *rest])

    def processes(self) -> list[dict[str, Any]]:
        records = super().processes()
        for number, record in enumerate(sorted(records, key=lambda r: r["name"])):
            record.update(
                pid=4100 + number,
                host="app-host",
                program="worker.py",
                started=self.clock.now - 3_600,
                heartbeat_age=0.0 if record["alive"] else 34.0,
                publish_rate=None if not record["alive"] else 0.0,
                gone_since=None if record["alive"] else self.clock.now - 34.0,
            )
        return records


def spawn_worker(url: str, name: str, role: str) -> subprocess.Popen[str]:
    """A real worker process of the fleet demo (``mapstore_tui.fleet_worker``)."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mapstore_tui.fleet_worker",
            url,
            NS,
            name,
            role,
            "--heartbeat",
            str(BEAT),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _silence(link: StoreLink) -> None:
    """No goodbye from ``link``: neither shipping's closes nor presence's leaving the registry."""
    shipper, presence = link._shipper, link._presence
    assert shipper is not None, "an observer has nothing to crash"
    shipper.goodbye = presence.leave = _say_nothing  # type: ignore[method-assign]


def _say_nothing() -> None:
    """What a killed process says."""
