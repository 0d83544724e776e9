# ruff: noqa: E501, F841
# fmt: off
"""registration-churn: registrations that run per frame, per change or per iteration."""

from mapstore_core import create_job_widget_bridge, create_widget_publisher


class Clock:
    def __init__(self, store):
        self.store = store
        self.feed = create_widget_publisher("metric-data", "clock-service", store=store)

    def render(self):
        with create_widget_publisher("metric-data", "clock-frame", store=self.store) as p:  # expect: registration-churn at create_widget_publisher
            p.publish({"label": "t", "value": 1})

    def compose(self):
        self.store.register_producer("clock-layout", "clock-layout").close()  # expect: registration-churn at self.store
        yield from ()

    def watch_value(self, value):
        with self.store.register_producer("clock-value", "clock-watcher") as p:  # expect: registration-churn at self.store
            p.publish(value)

    def tick(self, frames):
        for _ in range(frames):
            self.store.register_producer("clock-tick", "clock-ticker").close()  # expect: registration-churn at self.store
        while frames:
            frames -= 1
            p = self.store.register_producer("clock-tick", f"clock-{frames}")  # expect: registration-churn at self.store
            p.publish(frames)
            p.close()
        done = [
            self.store.register_producer(c, "clock-fanout").close()  # expect: registration-churn at self.store
            for c in ("a", "b")
        ]

    def close(self):
        self.feed.close()


# Near misses.


class Jobs:
    def __init__(self, store, jobs):
        self.store, self.jobs, self.bridges = store, jobs, []

    def on_jobs(self, job_ids):
        for job_id in job_ids:  # one bridge per job is the guide's own pattern
            self.bridges.append(
                create_job_widget_bridge(job_id, "paragraph-content", jobs=self.jobs)
            )

    def render_header(self):
        """Only render, render_line(s), compose and watch_* run per frame or change."""
        return self.feed_for_header()

    def feed_for_header(self):
        for _attempt in range(3):
            pass
        else:
            self.header = create_widget_publisher("paragraph-content", "jobs-header")

    def close(self):
        self.header.close()
        for bridge in self.bridges:
            bridge.disconnect()


def build_handlers(store):
    handlers = []
    for name in ("a", "b"):

        def handler(value, name=name):
            with store.register_producer("handled", "handler-feed") as p:
                p.publish(value)

        handlers.append(handler)
    return handlers
