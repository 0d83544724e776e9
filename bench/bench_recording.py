"""Recordings benchmark: the flight recorder's cost, sustained recording, reading 1M events.

Run:  .venv/bin/python bench/bench_recording.py            (--quick for a smoke run)

1. Flight recorder overhead: validated publishes with and without ``store.flight_recorder()``,
   in paired, interleaved rounds (A B A B ...), on two stores in one process. Printed twice:
   with the garbage collector off during the rounds (as ``bench_core.py`` measures every
   publish) and on (what an app sees: the window keeps ~100,000 payloads alive, and full
   collections walk them), and as CPU per second at a steady 10,000 publishes/s.
2. Sustained recording: ``store.record()`` at a paced 50,000, 100,000 and 200,000 events/s,
   and flat out; what was written and what was dropped (a ``gap``).
3. Reading: a 1,000,000-event recording (plain and gzip), opened in a fresh process: the
   time to open it, ``state_at`` anywhere p50/p95 against the time to fold the same number
   of events into a mirror by hand, the reader's peak memory, bytes per event on disk.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mapstore_core import MapObjectStore, create_widget_publisher, open_recording

PAYLOAD = {"label": "CPU", "value": 0.42, "change": 0.01, "change_type": "increase"}


def _validated_store() -> tuple[MapObjectStore, Any]:
    store = MapObjectStore(history_size=100)
    store.register_consumer("metric-data", "bench-widget", callback=lambda _u: None)
    publisher = create_widget_publisher("metric-data", "bench-service", store=store)
    return store, publisher


def flight_overhead(rounds: int, n: int, *, collect: bool) -> tuple[float, float, float]:
    """(ns/publish without, with, the median of the paired ratios) over interleaved rounds."""
    _, plain = _validated_store()
    flown_store, flown = _validated_store()
    recorder = flown_store.flight_recorder()
    for publisher in (plain, flown):  # warm up, and fill the window
        for _ in range(120_000 if n > 5_000 else n):
            publisher.publish(PAYLOAD)
    without: list[float] = []
    with_it: list[float] = []
    gc.collect()
    if not collect:
        gc.disable()
    try:
        for _ in range(rounds):
            for publisher, samples in ((plain, without), (flown, with_it)):
                publish = publisher.publish
                start = time.perf_counter_ns()
                for _ in range(n):
                    publish(PAYLOAD)
                samples.append((time.perf_counter_ns() - start) / n)
    finally:
        gc.enable()
        recorder.close()
    ratios = [a / b for a, b in zip(without, with_it, strict=True)]
    if collect:  # what a process gets done: totals, long pauses included
        return sum(without) / rounds, sum(with_it) / rounds, sum(without) / sum(with_it)
    return statistics.median(without), statistics.median(with_it), statistics.median(ratios)


def paced_cpu(rate: int, seconds: float, *, recorder: bool) -> float:
    """CPU seconds per wall second of a process publishing ``rate`` validated updates/s."""
    store, publisher = _validated_store()
    flight = store.flight_recorder() if recorder else None
    start_cpu, start = time.process_time(), time.perf_counter()
    sent = 0
    while (elapsed := time.perf_counter() - start) < seconds:
        due = int(elapsed * rate)
        while sent < due:
            publisher.publish(PAYLOAD)
            sent += 1
        time.sleep(0.001)
    cpu = (time.process_time() - start_cpu) / (time.perf_counter() - start)
    if flight is not None:
        flight.close()
    return cpu


def sustained(rate: int | None, seconds: float, folder: Path) -> dict[str, Any]:
    """Record while publishing at ``rate`` events/s (None: flat out) for ``seconds``."""
    store = MapObjectStore(history_size=100)
    raw = store.register_producer("prices", "feed")
    _, publisher = store, create_widget_publisher("metric-data", "svc", store=store)
    path = folder / f"sustained-{rate or 'max'}.jsonl"
    sent = 0
    with store.record(path) as rec:
        start = time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            due = int(elapsed * rate) if rate else sent + 1000
            while sent < due:
                if sent % 2:
                    publisher.publish({"label": "cpu", "value": float(sent)})
                else:
                    raw.publish({"n": sent, "source": "feed"})
                sent += 1
            if rate:
                time.sleep(0.001)
        publish_seconds = time.perf_counter() - start
    stats = rec.stats()
    path.unlink()
    return {"sent": sent, "rate": sent / publish_seconds, **stats}


def write_million(path: Path, events: int) -> dict[str, Any]:
    """A recording of ``events`` publishes on 20 channels (5 producers each), paced so the
    writer keeps up (nothing dropped)."""
    store = MapObjectStore(history_size=100)
    producers = [
        store.register_producer(f"channel-{c}", f"producer-{p}")
        for c in range(20)
        for p in range(5)
    ]
    with store.record(path) as rec:
        for n in range(events):
            producers[n % len(producers)].publish({"n": n, "price": n * 0.01, "sym": "ABC"})
            if n % 20_000 == 19_999:
                while rec.stats()["pending"] > 50_000:
                    time.sleep(0.005)
    return rec.stats()


def read_in_fresh_process(path: Path, samples: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--read", str(path), "--samples", str(samples)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def _read(path: str, samples: int) -> None:
    """The reader's figures, printed as JSON (run in a fresh process: its own peak memory)."""
    before = _peak_kb()
    start = time.perf_counter()
    reader = open_recording(path)
    opened = time.perf_counter() - start
    rng = random.Random(7)
    times = []
    for _ in range(samples):
        index = rng.randrange(len(reader))
        start = time.perf_counter()
        reader.state_at(index).values("channel-3")
        times.append(time.perf_counter() - start)
    times.sort()
    # the same fold by hand, from the state before the first event: the baseline
    mirror = reader.initial_state()
    start = time.perf_counter()
    for event in reader.events(0, 2000):
        mirror.apply(event)
    fold_2000 = time.perf_counter() - start
    peak = _peak_kb()
    print(
        json.dumps(
            {
                "events": len(reader),
                "open_s": opened,
                "p50_ms": times[len(times) // 2] * 1000,
                "p95_ms": times[int(len(times) * 0.95)] * 1000,
                "fold_2000_ms": fold_2000 * 1000,
                "peak_mb": peak / 1024,
                "grew_mb": (peak - before) / 1024,
            }
        )
    )


def _peak_kb() -> int:
    """This process's peak resident memory (VmHWM: ``ru_maxrss`` would count the parent's
    from before ``exec``, which Linux carries over)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run with tiny numbers")
    parser.add_argument("--read", help=argparse.SUPPRESS)
    parser.add_argument("--samples", type=int, default=200, help=argparse.SUPPRESS)
    parser.add_argument("--only", help="comma-separated parts: flight,sustained,read")
    args = parser.parse_args(argv)
    if args.read:
        _read(args.read, args.samples)
        return 0
    parts = set((args.only or "flight,sustained,read").split(","))
    quick = args.quick
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores")
    checks: list[tuple[str, str, bool]] = []

    if "flight" in parts:
        rounds, n = (3, 2_000) if quick else (21, 20_000)
        a, b, off = flight_overhead(rounds, n, collect=False)
        print("\n1. flight recorder (60 s / 100,000 events) on validated publishes")
        print(f"   gc off in rounds: {a:.0f} ns without, {b:.0f} ns with: {off:.3f}x rate")
        a, b, on = flight_overhead(rounds, n, collect=True)
        print(f"   gc on (totals):   {a:.0f} ns without, {b:.0f} ns with: {on:.3f}x rate")
        seconds = 0.5 if quick else 3.0
        cpu = [
            (paced_cpu(10_000, seconds, recorder=False), paced_cpu(10_000, seconds, recorder=True))
            for _ in range(1 if quick else 3)
        ]
        plain_cpu = statistics.median(c[0] for c in cpu)
        flown_cpu = statistics.median(c[1] for c in cpu)
        print(
            f"   at 10,000 publishes/s: {plain_cpu * 100:.1f}% CPU without, "
            f"{flown_cpu * 100:.1f}% with (+{(flown_cpu - plain_cpu) * 100:.1f} points)"
        )
        checks.append(("flight recorder rate, gc off >= 0.9x", f"{off:.3f}x", off >= 0.9))
        checks.append(("flight recorder rate, gc off >= 0.97x (goal)", f"{off:.3f}x", off >= 0.97))
        checks.append(("flight recorder rate, gc on >= 0.9x", f"{on:.3f}x", on >= 0.9))

    with tempfile.TemporaryDirectory() as folder:
        if "sustained" in parts:
            seconds = 0.5 if quick else 4.0
            print("\n2. sustained recording (half raw, half validated publishes)")
            for rate in (50_000, 100_000, 200_000, None):
                got = sustained(rate, seconds, Path(folder))
                label = f"{rate:,}/s" if rate else "flat out"
                per_event = got["bytes"] / max(got["events"], 1)
                print(
                    f"   {label:>10}: published {got['rate']:,.0f}/s, wrote {got['events']:,}, "
                    f"dropped {got['dropped']:,}, {per_event:.0f} B/event"
                )
                if rate == 50_000:
                    checks.append(("50,000 events/s: nothing dropped", "", got["dropped"] == 0))
                if rate == 200_000:
                    ok = got["dropped"] == 0 and got["rate"] >= 0.95 * rate
                    checks.append(("200,000 events/s: nothing dropped (goal)", "", ok))

        if "read" in parts:
            events = 20_000 if quick else 1_000_000
            print(f"\n3. a {events:,}-event recording (20 channels x 5 producers)")
            for name in ("big.jsonl", "big.jsonl.gz"):
                path = Path(folder) / name
                start = time.perf_counter()
                written = write_million(path, events)
                took = time.perf_counter() - start
                got = read_in_fresh_process(path, 40 if quick else 200)
                print(
                    f"   {name:<13} {written['bytes'] / events:6.1f} B/event "
                    f"(written in {took:.1f} s, {written['dropped']} dropped); "
                    f"open {got['open_s']:.2f} s; state_at p50 {got['p50_ms']:.1f} ms, "
                    f"p95 {got['p95_ms']:.1f} ms (folding 2,000 events by hand: "
                    f"{got['fold_2000_ms']:.1f} ms); reader peak {got['peak_mb']:.0f} MB"
                )
                checks.append(
                    (f"{name}: state_at p95 < 200 ms", f"{got['p95_ms']:.1f}", got["p95_ms"] < 200)
                )
                checks.append(
                    (
                        f"{name}: state_at p95 < 20 ms (goal)",
                        f"{got['p95_ms']:.1f}",
                        got["p95_ms"] < 20,
                    )
                )
                checks.append(
                    (f"{name}: reader under 300 MB", f"{got['peak_mb']:.0f}", got["peak_mb"] < 300)
                )
                path.unlink()

    print()
    for name, figure, ok in checks:
        print(f"{'PASS' if ok else 'MISS'}  {name} {figure}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
