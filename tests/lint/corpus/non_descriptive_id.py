# ruff: noqa: E501
# fmt: off
"""non-descriptive-id: literal producer ids the runtime rule would flag."""

import mapstore_core as ms
from mapstore_core import create_widget_consumer
from mapstore_core import create_widget_publisher as pub

GENERIC = "temp"


class Service:
    ID = "p2"

    def __init__(self, store):
        self.a = store.register_producer("counter", "producer1")  # expect: non-descriptive-id at "producer1"
        self.b = pub("metric-data", producer_id="tmp", store=store)  # expect: non-descriptive-id at "tmp"
        self.c = ms.create_widget_publisher(  # multi-line: the finding is at the id itself
            ms.WidgetChannels.TABLE_DATA,
            "3f2b1c4e-9d8a-4b7c-8e6f-5a4b3c2d1e0f",  # expect: non-descriptive-id at "3f2b
        )
        self.d = store.register_producer("alerts", GENERIC)  # expect: non-descriptive-id at GENERIC
        self.e = store.register_producer("alerts", self.ID)  # expect: non-descriptive-id at self.ID
        self.f = store.register_producer("hashes", "deadbeef42")  # expect: non-descriptive-id at "deadbeef42"

    def close(self):
        for p in (self.a, self.b, self.c, self.d, self.e, self.f):
            p.close()


# Near misses.


class Named:
    def __init__(self, store, n, given):
        self.a = store.register_producer("prices", "market-data-service")
        self.b = store.register_producer("words", "facade")  # hex letters, but a word
        self.c = store.register_producer("ticks", f"producer{n}")  # f-string: not guessed
        self.d = store.register_producer("given", given)  # a parameter: unknown
        self.e = create_widget_consumer("metric-data", "temp")  # a consumer, not a producer

    def close(self):
        for p in (self.a, self.b, self.c, self.d, self.e):
            p.close()
