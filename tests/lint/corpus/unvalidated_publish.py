# ruff: noqa: E501
# fmt: off
"""unvalidated-publish: raw register_producer on a channel that has a model."""

from myapp import enums
from myapp.models import Order

import mapstore_core as ms
from mapstore_core import WidgetChannels, create_widget_publisher, define_channel

ORDERS = define_channel("orders", Order)


class Legacy:
    def __init__(self, store):
        self.a = store.register_producer(WidgetChannels.METRIC_DATA, "legacy-metrics")  # expect: unvalidated-publish at store
        self.b = store.register_producer("table-data", "legacy-table")  # expect: unvalidated-publish at store
        self.c = store.register_producer(  # expect: unvalidated-publish at store
            producer_id="legacy-notes", channel=ms.WidgetChannels.PARAGRAPH_CONTENT.value
        )
        self.d = store.register_producer("orders", "legacy-orders")  # expect: unvalidated-publish at store

    def close(self):
        for p in (self.a, self.b, self.c, self.d):
            p.close()


# Near misses.


class Migrated:
    def __init__(self, store, channel):
        self.a = create_widget_publisher(WidgetChannels.METRIC_DATA, "cpu-metrics", store=store)
        self.b = store.register_producer("price-ticks", "price-ticker")
        self.c = store.register_producer(channel, "configured-feed")
        self.d = store.register_producer(enums.WidgetChannels.METRIC_DATA, "other-enum-feed")

    def close(self):
        for p in (self.a, self.b, self.c, self.d):
            p.close()
