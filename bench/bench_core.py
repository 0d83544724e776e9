"""mapstore_core benchmark: publish cost against signal libraries and plain Python, in one process.

Run:  .venv/bin/pip install -e '.[bench]' && .venv/bin/python bench/bench_core.py

Every case runs in interleaved rounds (A B C ... A B C ...) so machine noise hits all of them
alike; the table shows the median per operation and its ratio to the floor (a plain loop
calling one callback). Absolute times drift ~25% between runs on a shared 2-core machine;
compare the ratios. Targets (issue #2) are checked at the end and printed as PASS/MISS.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable

from mapstore_core import (
    MapObjectStore,
    MetricData,
    create_widget_consumer,
    create_widget_publisher,
)

Case = Callable[[int], None]
PAYLOAD = {"label": "CPU", "value": 0.42, "change": 0.01, "change_type": "increase"}


def _sink(*_args: object, **_kwargs: object) -> None:
    return None


def case_floor() -> Case:
    callback = _sink

    def run(n: int) -> None:
        payload = PAYLOAD
        for _ in range(n):
            callback(payload)

    return run


def case_dict_store() -> Case:
    """The floor of a store: a publish() function with a dict write and one callback."""
    values: dict[str, dict[str, object]] = {}
    callbacks = {"metric-data": [_sink]}

    def publish(channel: str, payload: object) -> None:
        values.setdefault(channel, {})["svc"] = payload
        for cb in callbacks[channel]:
            cb(payload)

    def run(n: int) -> None:
        for _ in range(n):
            publish("metric-data", PAYLOAD)

    return run


def case_validate_baseline() -> Case:
    """pydantic model_validate + dict write + one callback: what validation costs by hand."""
    values: dict[str, object] = {}
    callback = _sink

    def run(n: int) -> None:
        for _ in range(n):
            model = MetricData.model_validate(PAYLOAD)
            values["svc"] = model
            callback(model)

    return run


def case_blinker() -> Case:
    import blinker

    signal = blinker.Signal()
    signal.connect(_sink)

    def run(n: int) -> None:
        send = signal.send
        for _ in range(n):
            send(None, payload=PAYLOAD)

    return run


def _psygnal_instance() -> object:
    from psygnal import Signal

    class Emitter:
        changed = Signal(object)

    emitter = Emitter()
    emitter.changed.connect(_sink)
    return emitter


def case_psygnal_emit() -> Case:
    emitter = _psygnal_instance()

    def run(n: int) -> None:
        emit = emitter.changed.emit  # type: ignore[attr-defined]
        for _ in range(n):
            emit(PAYLOAD)

    return run


def case_psygnal_emit_fast() -> Case:
    emitter = _psygnal_instance()

    def run(n: int) -> None:
        emit = emitter.changed.emit_fast  # type: ignore[attr-defined]
        for _ in range(n):
            emit(PAYLOAD)

    return run


_pubsub_keep: list[object] = []


def case_pypubsub() -> Case:
    from pubsub import pub

    def listener(payload: object) -> None:
        return None

    _pubsub_keep.append(listener)  # pypubsub holds listeners weakly
    pub.subscribe(listener, "bench_metric")

    def run(n: int) -> None:
        send = pub.sendMessage
        for _ in range(n):
            send("bench_metric", payload=PAYLOAD)

    return run


def case_mapstore_raw() -> Case:
    store = MapObjectStore(history_size=100)
    store.register_consumer("bench-raw", "bench-widget", callback=_sink)
    producer = store.register_producer("bench-raw", "bench-service")
    _keep.append(producer)

    def run(n: int) -> None:
        publish = producer.publish
        for _ in range(n):
            publish(PAYLOAD)

    return run


def case_mapstore_validated() -> Case:
    store = MapObjectStore(history_size=100)
    store.register_consumer("metric-data", "bench-widget", callback=_sink)
    publisher = create_widget_publisher("metric-data", "bench-service", store=store)
    _keep.append(publisher)

    def run(n: int) -> None:
        publish = publisher.publish
        for _ in range(n):
            publish(PAYLOAD)

    return run


_keep: list[object] = []


def case_register_close() -> Case:
    """Registration records the caller's line and runs the doctor over the channel."""
    store = MapObjectStore()

    def run(n: int) -> None:
        register = store.register_producer
        for _ in range(n):
            register("bench-registration", "bench-service").close()

    return run


def measure(cases: dict[str, Case], *, rounds: int, n: int) -> dict[str, float]:
    """Median ns/op over interleaved rounds."""
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for run in cases.values():
        run(n // 10)  # warm up
    gc.collect()
    gc.disable()
    try:
        for _ in range(rounds):
            for name, run in cases.items():
                start = time.perf_counter_ns()
                run(n)
                samples[name].append((time.perf_counter_ns() - start) / n)
    finally:
        gc.enable()
    return {name: statistics.median(values) for name, values in samples.items()}


def thread_throughput(threads: int, total: int) -> float:
    """Raw publishes per second with ``threads`` publishers, each on its own channel."""
    store = MapObjectStore(history_size=100)
    producers = []
    for index in range(threads):
        store.register_consumer(f"bench-{index}", "bench-widget", callback=_sink)
        producers.append(store.register_producer(f"bench-{index}", "bench-service"))
    per_thread = total // threads
    barrier = threading.Barrier(threads + 1)

    def work(index: int) -> None:
        publish = producers[index].publish
        barrier.wait()
        for _ in range(per_thread):
            publish(PAYLOAD)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    start = time.perf_counter()
    for worker in workers:
        worker.join()
    return per_thread * threads / (time.perf_counter() - start)


def rss_bytes() -> int:
    try:
        with open(f"/proc/{os.getpid()}/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux: peak RSS is the best we have
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def memory_growth(publishes: int, channels: int) -> tuple[float, int]:
    """RSS growth (MB) after ``publishes`` raw publishes spread over ``channels`` channels."""
    gc.collect()
    before = rss_bytes()
    store = MapObjectStore(history_size=100)
    producers = []
    for index in range(channels):
        store.register_consumer(f"mem-{index}", "mem-widget", callback=_sink)
        producers.append(store.register_producer(f"mem-{index}", "mem-service"))
    for count in range(publishes):
        producers[count % channels].publish({"n": count, "label": "tick"})
    gc.collect()
    growth = (rss_bytes() - before) / 1e6
    held = sum(len(store.history(f"mem-{i}")) for i in range(channels))
    _keep.append(producers)
    return growth, held


def fleet_scale(count: int) -> dict[str, float]:
    """One channel holding ``count`` producers, as a linked fleet's store does (issue #9).

    An event listener is subscribed for every kind, as the panel is. Returns seconds for
    registering them all, seconds per diagnostics() call, and seconds per get() and
    consumer.value (raw and widget consumer) with that many producers holding values.
    """

    def per_call(fn: Callable[[], object], n: int) -> float:
        begin = time.perf_counter()
        for _ in range(n):
            fn()
        return (time.perf_counter() - begin) / n

    store = MapObjectStore()
    events: list[object] = []
    store.subscribe_events(events.append)
    started = time.perf_counter()
    producers = [store.register_producer("fleet", f"source-{i}") for i in range(count)]
    register = time.perf_counter() - started
    for i, producer in enumerate(producers):
        producer.publish({"n": i})
    # the doctor over exactly `count` producers (all from one line: all duplicate-source)
    diag = min(per_call(store.diagnostics, 1) for _ in range(5))
    fresh = []
    for i in range(3):  # after a change the doctor evaluates everything again
        store.register_producer("fleet", f"late-source-{i}").close()
        fresh.append(per_call(store.diagnostics, 1))
    metric = create_widget_publisher("metric-data", "metric-service", store=store)
    others = [store.register_producer("metric-data", f"metric-source-{i}") for i in range(count)]
    for i, producer in enumerate(others):
        producer.publish({"label": "x", "value": i})
    metric.publish(MetricData(label="CPU", value=1))
    consumer = store.register_consumer("fleet", "fleet-widget")
    widget = create_widget_consumer("metric-data", "metric-widget", store=store)

    get = min(per_call(lambda: store.get("fleet"), 10_000) for _ in range(5))
    value = min(per_call(lambda: consumer.value, 10_000) for _ in range(5))
    widget_value = min(per_call(lambda: widget.value, 10_000) for _ in range(5))
    assert store.get("fleet") == {"n": count - 1} and widget.value == MetricData(
        label="CPU", value=1
    )
    _keep.append((producers, others, metric))
    return {
        "register": register,
        "diagnostics": diag,
        "diagnostics_fresh": min(fresh),
        "get": get,
        "value": value,
        "widget_value": widget_value,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("-n", type=int, default=20_000, help="operations per case per round")
    parser.add_argument("--quick", action="store_true", help="a smoke run with tiny numbers")
    args = parser.parse_args(argv)
    rounds, n = (3, 2_000) if args.quick else (args.rounds, args.n)
    publishes = 20_000 if args.quick else 1_000_000

    cases = {
        "floor: loop calling 1 callback": case_floor(),
        "floor: publish() with dict write, 1 callback": case_dict_store(),
        "model_validate + dict write + 1 callback": case_validate_baseline(),
        "psygnal emit_fast": case_psygnal_emit_fast(),
        "blinker send": case_blinker(),
        "psygnal emit": case_psygnal_emit(),
        "pypubsub sendMessage": case_pypubsub(),
        "mapstore raw publish (1 consumer, history)": case_mapstore_raw(),
        "mapstore validated publish (1 consumer, history)": case_mapstore_validated(),
        "mapstore register + close a producer": case_register_close(),
    }
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores, {rounds} rounds x {n} ops")
    medians = measure(cases, rounds=rounds, n=n)
    floor = medians["floor: loop calling 1 callback"]
    width = max(len(name) for name in medians)
    print(f"\n{'case':<{width}}  {'median':>9}  {'x floor':>8}")
    for name, ns in medians.items():
        shown = f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.0f} ns"
        print(f"{name:<{width}}  {shown:>9}  {ns / floor:>7.1f}x")

    raw = medians["mapstore raw publish (1 consumer, history)"]
    validated = medians["mapstore validated publish (1 consumer, history)"]
    by_hand = medians["model_validate + dict write + 1 callback"]
    blinker_send = medians["blinker send"]
    fast = medians["psygnal emit_fast"]

    total = 40_000 if args.quick else 400_000
    pairs = [
        (thread_throughput(1, total), thread_throughput(4, total)) for _ in range(rounds // 2 or 1)
    ]
    one = statistics.median(p[0] for p in pairs)
    four = statistics.median(p[1] for p in pairs)
    threads_ratio = statistics.median(p[1] / p[0] for p in pairs)  # paired: noise cancels
    growth, held = memory_growth(publishes, 100)
    fleet_count = 1_000 if args.quick else 10_000
    fleet = fleet_scale(fleet_count)

    print(f"\nthroughput, 1 thread:  {one:,.0f} publishes/s (median of {len(pairs)} runs)")
    print(f"throughput, 4 threads: {four:,.0f} publishes/s")
    print(f"4 threads vs 1, median of paired runs: {threads_ratio:.2f}x")
    print(f"RSS growth after {publishes:,} publishes over 100 channels: {growth:.1f} MB")
    print(f"  (history holds {held:,} updates: bounded at 100 per channel)")
    print(f"\none channel with {fleet_count:,} producers, an event listener subscribed:")
    print(f"  registering all of them:  {fleet['register'] * 1000:8.1f} ms")
    print(f"  diagnostics(), unchanged: {fleet['diagnostics'] * 1000:8.2f} ms")
    print(f"  diagnostics() after a change: {fleet['diagnostics_fresh'] * 1000:4.1f} ms")
    print(f"  get():                    {fleet['get'] * 1e6:8.2f} µs")
    print(f"  consumer.value:           {fleet['value'] * 1e6:8.2f} µs")
    print(f"  widget consumer.value:    {fleet['widget_value'] * 1e6:8.2f} µs")

    checks = [
        ("raw publish vs blinker send", raw / blinker_send, "<= 1.0", raw <= blinker_send),
        ("raw publish vs psygnal emit_fast (aim)", raw / fast, "<= 1.0 (aim)", raw <= fast),
        ("validated vs by hand", validated / by_hand, "<= 1.5", validated <= 1.5 * by_hand),
        (
            "validated vs by hand (aim)",
            validated / by_hand,
            "<= 1.1 (aim)",
            validated <= 1.1 * by_hand,
        ),
        ("4 threads vs 1", threads_ratio, ">= 0.8", threads_ratio >= 0.8),
        ("RSS growth, MB", growth, "< 20", growth < 20),
        (
            f"register {fleet_count:,} on 1 channel, s",
            fleet["register"],
            "< 1.0",
            fleet["register"] < 1.0,
        ),
        (
            "diagnostics() at fleet size, ms",
            fleet["diagnostics"] * 1000,
            "< 50",
            fleet["diagnostics"] < 0.05,
        ),
        ("get() at fleet size, µs", fleet["get"] * 1e6, "< 2", fleet["get"] < 2e-6),
        ("consumer.value at fleet size, µs", fleet["value"] * 1e6, "< 2", fleet["value"] < 2e-6),
        (
            "widget consumer.value at fleet size, µs",
            fleet["widget_value"] * 1e6,
            "< 2",
            fleet["widget_value"] < 2e-6,
        ),
    ]
    print("\ntargets:")
    for label, value, target, ok in checks:
        print(f"  {'PASS' if ok else 'MISS'}  {label:<40} {value:6.2f}  ({target})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
