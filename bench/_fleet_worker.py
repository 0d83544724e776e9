"""One process of the fleet benchmark (``bench_tui.py`` 5): a linked store, 10 producers.

``_fleet_worker.py URL NAMESPACE NAME RATE``: prints ``ready`` once linked; for every line
``go SECONDS`` on stdin it publishes ``RATE`` updates a second (round robin over its
producers, one on each of ``channel-0`` .. ``channel-9``) for that long, then prints how
many it published and in how many seconds. Stdin closing ends it (the link closes).
"""

from __future__ import annotations

import sys
import time

from mapstore_core import MapObjectStore

PRODUCERS = 10


def main() -> None:
    url, namespace, name, rate = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    store = MapObjectStore()
    producers = [
        store.register_producer(f"channel-{i}", f"source-{i}-service") for i in range(PRODUCERS)
    ]
    for n, producer in enumerate(producers):
        producer.publish({"n": n})
    with store.link(url, namespace=namespace, name=name, max_queue=50_000):
        print("ready", flush=True)
        for line in sys.stdin:
            seconds = float(line.split()[1])
            batch = max(1, rate // 100)
            sent, start = 0, time.perf_counter()
            next_at = start
            while time.perf_counter() - start < seconds:
                for _ in range(batch):
                    producers[sent % PRODUCERS].publish({"n": sent})
                    sent += 1
                next_at += batch / rate
                delay = next_at - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            print(f"{sent} {time.perf_counter() - start:.3f}", flush=True)


if __name__ == "__main__":
    main()
