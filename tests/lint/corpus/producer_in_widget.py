# ruff: noqa: E501
# fmt: off
"""producer-in-widget: registrations in consumer-only classes and in Textual widgets."""

from textual import widgets
from textual.app import App
from textual.widget import Widget

import mapstore_core as ms
from mapstore_core import consumer_only as view_only
from mapstore_core import create_job_widget_bridge, create_widget_consumer


@view_only
class Chart:
    def on_mount(self, store):
        self.feed = ms.create_widget_publisher("table-data", "chart-feed", store=store)  # expect: producer-in-widget at ms.create_widget_publisher

    def close(self):
        self.feed.close()


class BarChart(Chart):
    def attach(self, store, jobs, job_id):
        self.bridge = create_job_widget_bridge(job_id, "paragraph-content", jobs=jobs)  # expect: producer-in-widget at create_job_widget_bridge

    def detach(self):
        self.bridge.disconnect()


class Panel(Widget):
    def on_mount(self):
        self.state = self.app.store.register_producer("panel-state", "panel-state-feed")  # expect: producer-in-widget at self.app.store

    def on_unmount(self):
        self.state.close()


class Banner(widgets.Static):
    def on_mount(self):
        def later():
            return ms.create_widget_publisher("paragraph-content", "banner-text")  # expect: producer-in-widget at ms.create_widget_publisher

        self.later = later


class WidePanel(Panel):
    def on_resize(self):
        with ms.map_store.register_producer("panel-size", "panel-size-feed") as size:  # expect: producer-in-widget at ms.map_store
            size.publish(1)


# Near misses: none of these is a widget registering a producer.


class MarketService:
    def __init__(self, store):
        self.feed = ms.create_widget_publisher("table-data", "market-data", store=store)

    def close(self):
        self.feed.close()


class DashboardApp(App):
    """An App is not a Widget: wiring sources here is fine."""

    def on_mount(self):
        self.feed = ms.create_widget_publisher("metric-data", "dashboard-clock")

    def on_unmount(self):
        self.feed.close()


@view_only
class MetricView:
    def on_mount(self, store):
        self.consumer = create_widget_consumer("metric-data", "metric-view", store=store)


def other(cls):
    return cls


@other
class Plain:
    def start(self, store):
        self.feed = store.register_producer("plain-channel", "plain-service")

    def stop(self):
        self.feed.close()
