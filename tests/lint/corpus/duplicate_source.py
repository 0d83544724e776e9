# ruff: noqa: E501
# fmt: off
"""duplicate-source: several producers of one source on one channel."""

from mapstore_core import WidgetChannels, create_widget_publisher


class PriceFeed:
    def __init__(self, store):
        self.bid = create_widget_publisher("table-data", "price-feed-bid", store=store)
        self.ask = create_widget_publisher("table-data", "price-feed-ask", store=store)  # expect: duplicate-source at create_widget_publisher

    def close(self):
        self.bid.close()
        self.ask.close()


class Tickers:
    def start(self, store, symbols):
        self.feeds = []
        for symbol in symbols:
            self.feeds.append(store.register_producer("ticks", f"ticker-{symbol}"))  # expect: duplicate-source at store
        self.gauges = [
            create_widget_publisher(WidgetChannels.METRIC_DATA, f"gauge-{n}")  # expect: duplicate-source at create_widget_publisher
            for n in range(3)
        ]

    def spares(self, store):
        self.spare = store.register_producer("ticks", "ticker1")
        self.extra = store.register_producer("ticks", "ticker2")  # expect: duplicate-source at store

    def close(self):
        for feed in [*self.feeds, *self.gauges, self.spare, self.extra]:
            feed.close()


# Near misses.


class TwoStores:
    def __init__(self, live, replay):
        self.live = live.register_producer("ticks", "ticks-live")
        self.replay = replay.register_producer("ticks", "ticks-replay")

    def close(self):
        self.live.close()
        self.replay.close()


class EitherOr:
    def __init__(self, store, fast):
        if fast:
            self.feed = store.register_producer("speed", "speed-fast")
        else:
            self.feed = store.register_producer("speed", "speed-slow")

    def close(self):
        self.feed.close()


class Hub:
    """Two different sources wired in one place: the ids name two sources."""

    def __init__(self, store):
        self.sensor = create_widget_publisher("metric-data", "flaky-sensor", store=store)
        self.legacy = create_widget_publisher("metric-data", "legacy-metrics-adapter")
        self.other = create_widget_publisher("table-data", "flaky-table")

    def restart(self, store):
        """The same slot gets a new producer: a replacement, not a second one."""
        self.sensor.close()
        self.sensor = create_widget_publisher("metric-data", "flaky-sensor-v2", store=store)

    def close(self):
        for p in (self.sensor, self.legacy, self.other):
            p.close()


def make_eu(store):
    return store.register_producer("rates", "rates-eu")


def make_us(store):
    return store.register_producer("rates", "rates-us")
