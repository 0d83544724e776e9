"""mapstore debug endpoint benchmark: what attached panels cost the app, and how fresh they are.

Run:  .venv/bin/python bench/bench_remote.py

1. Validated publishes/s in the app with 0, 1 and 5 attached clients that receive every
   event (as a panel's view does), in alternating rounds. Target with 1: >= 0.8x of none.
2. Latency from ``publish()`` in the app to the event in the client (what the panel's view
   sees), at a steady 1,000 publishes/s. Target p95 < 100 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from mapstore_core import DebugClient, DebugServer, MapObjectStore, create_widget_publisher

PAYLOAD = {"label": "CPU", "value": 0.42, "change": 0.01, "change_type": "increase"}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def publish_rate(clients: int, count: int, socket_dir: Path) -> float:
    store = MapObjectStore()
    publisher = create_widget_publisher("metric-data", "bench-service", store=store)
    store.register_consumer("metric-data", "bench-widget", callback=lambda u: None)
    received = [0]

    def count_event(_: object) -> None:
        received[0] += 1

    with DebugServer(store, path=socket_dir / f"bench-{clients}.sock") as server:
        attached = [
            DebugClient(server.address, on_event=count_event).connect() for _ in range(clients)
        ]
        try:
            publish = publisher.publish
            start = time.perf_counter()
            for _ in range(count):
                publish(PAYLOAD)
            return count / (time.perf_counter() - start)
        finally:
            for client in attached:
                client.close()


def latency(rate: int, seconds: float, socket_dir: Path) -> list[float]:
    store = MapObjectStore()
    publisher = create_widget_publisher("metric-data", "bench-service", store=store)
    sent: dict[int, float] = {}
    delays: list[float] = []

    def on_event(event: object) -> None:
        update = getattr(event, "update", None)
        if update is not None and update.seq in sent:
            delays.append(time.perf_counter() - sent[update.seq])

    with (
        DebugServer(store, path=socket_dir / "latency.sock") as server,
        DebugClient(server.address, on_event=on_event),
    ):
        interval = 1 / rate
        next_at = time.perf_counter()
        end = next_at + seconds
        while time.perf_counter() < end:
            now = time.perf_counter()
            update = publisher.publish(PAYLOAD)
            sent[update.seq] = now
            next_at += interval
            pause = next_at - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
        time.sleep(0.5)
    return delays


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run with tiny numbers")
    args = parser.parse_args(argv)
    rounds, count, seconds = (1, 20_000, 1.0) if args.quick else (7, 200_000, 10.0)
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        socket_dir = Path(tmp)
        os.chmod(socket_dir, 0o700)
        rates: dict[int, list[float]] = {0: [], 1: [], 5: []}
        for _ in range(rounds):
            for clients in rates:
                rates[clients].append(publish_rate(clients, count, socket_dir))
        delays = latency(1_000, seconds, socket_dir)
    none = statistics.median(rates[0])
    print("\n1. validated publishes/s in the app (median of rounds):")
    for clients, values in rates.items():
        rate = statistics.median(values)
        print(f"   {clients} attached: {rate:,.0f}/s ({rate / none:.2f}x of none)")
    one = statistics.median(rates[1]) / none
    p50, p95 = percentile(delays, 0.5) * 1000, percentile(delays, 0.95) * 1000
    print(
        f"\n2. publish -> client event at 1,000/s: p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
        f"max {max(delays) * 1000:.1f} ms over {len(delays):,} events"
    )
    print("\ntargets:")
    for label, value, target, ok in (
        ("1 panel attached / none", one, ">= 0.8", one >= 0.8),
        ("publish -> panel p95, ms", p95, "< 100", p95 < 100),
    ):
        print(f"  {'PASS' if ok else 'MISS'}  {label:<28} {value:8.2f}  ({target})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
