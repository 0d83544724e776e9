"""A second process for the link tests: it links a store and publishes or listens.

Usage: ``worker.py URL NAME ROLE [COUNT]``. It prints ``ready`` once linked and then:

- ``publish COUNT``: publishes ``{"n": i}`` on ``ticks`` from ``tick-service``, i = 0..COUNT-1,
  then ``done``, then waits for a line on stdin (or its death) before closing;
- ``stream``: publishes ``{"n": i}`` forever, one every 5 ms (for restarts and kill -9);
- ``consume``: prints every update it receives on ``ticks`` as a JSON line.
"""

from __future__ import annotations

import json
import sys
import time

from mapstore_core import ChannelUpdate, MapObjectStore


def main() -> None:
    url, name, role = sys.argv[1:4]
    count = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    store = MapObjectStore()
    link = store.link(url, namespace="test", name=name, heartbeat=0.5)
    if role == "consume":

        def show(update: ChannelUpdate) -> None:
            print(
                json.dumps(
                    {
                        "producer": update.producer_id,
                        "process": update.process,
                        "value": update.value,
                    }
                ),
                flush=True,
            )

        store.register_consumer("ticks", "tick-printer", callback=show)
    print("ready", flush=True)
    if role == "publish":
        producer = store.register_producer("ticks", "tick-service")
        for i in range(count):
            producer.publish({"n": i})
        print("done", flush=True)
        sys.stdin.readline()
    elif role == "stream":
        producer = store.register_producer("ticks", "tick-service")
        i = 0
        while True:
            producer.publish({"n": i})
            i += 1
            time.sleep(0.005)  # the stream's rate: time passing is the point, not a wait
    else:
        sys.stdin.readline()
    link.close()


if __name__ == "__main__":
    main()
