# ruff: noqa: E501
# fmt: off
"""missing-cleanup: producers kept, bound or dropped without a close()."""

import atexit
import contextlib

from mapstore_core import create_job_widget_bridge, map_store
from mapstore_core import create_widget_publisher as pub

FEED = pub("metric-data", "module-feed")  # expect: missing-cleanup at pub


class Service:
    def __init__(self, store):
        self.table = pub("table-data", "service-feed", store=store)  # expect: missing-cleanup at pub
        self.status: object = store.register_producer("status", "service-status")  # expect: missing-cleanup at store

    def refresh(self):
        self.table.publish({"title": "t", "headers": [], "rows": []})
        if self.status is not None:
            self.status.publish("ok")


def leak(store):
    orphan = store.register_producer("session", "session-feed")  # expect: missing-cleanup at store
    orphan.publish({"user": "demo"})
    del orphan


def drop(store, jobs):
    pub("metric-data", "dropped-feed", store=store)  # expect: missing-cleanup at pub
    store.register_producer("events", "event-feed").publish(1)  # expect: missing-cleanup at store
    create_job_widget_bridge("job-1", "paragraph-content", jobs=jobs)  # expect: missing-cleanup at create_job_widget_bridge


# Near misses: every one of these producers is closed or handed on.

KEPT = pub("metric-data", "kept-feed")
atexit.register(KEPT.close)

SHUTDOWN_FEED = map_store.register_producer("shutdown", "shutdown-feed")


def shutdown():
    SHUTDOWN_FEED.close()


class Session:
    def __enter__(self):
        self.feed = pub("paragraph-content", "session-notes")
        return self

    def __exit__(self, *exc):
        self.feed.close()


class Panel:
    def on_mount(self):
        self.rows = map_store.register_producer("panel-rows", "panel-rows-feed")

    def on_unmount(self):
        self.rows.clear()


class Owner:
    def __init__(self, store):
        self.part = Part(store)

    def close(self):
        self.part.feed.close()  # closed by the owner, through the attribute's name


class Part:
    def __init__(self, store):
        self.feed = store.register_producer("parts", "part-feed")


class Pool:
    def __init__(self, store):
        self.extra = pub("metric-data", "pool-extra", store=store)
        self.all = [self.extra]  # handed on: the pool closes what it holds


def closed_by_contextlib(store):
    feed = store.register_producer("ctx", "ctx-feed")
    with contextlib.closing(feed):
        feed.publish(1)
    with contextlib.closing(store.register_producer("ctx-inline", "ctx-inline")) as inline:
        inline.publish(2)


def returned(store):
    feed = store.register_producer("made", "factory-feed")
    return feed


def returned_inline(store):
    return store.register_producer("made", "factory-inline")


def as_context_manager(store):
    with pub("metric-data", "scoped-feed", store=store) as feed:
        feed.publish({"label": "x", "value": 1})


def in_finally(store):
    feed = store.register_producer("tries", "try-feed")
    try:
        feed.publish(1)
    finally:
        feed.close()


def fixture(store):
    feed = store.register_producer("fixture", "fixture-feed")
    yield feed
    feed.close()


def stored(store, registry):
    feed = store.register_producer("stored", "stored-feed")
    registry.append(feed)


def bridge_done(jobs):
    bridge = create_job_widget_bridge("job-2", "paragraph-content", jobs=jobs)
    bridge.disconnect()


def closed_later(store):
    feed = store.register_producer("later", "later-feed")

    def cleanup():
        feed.close()

    atexit.register(cleanup)


def start_global_feed():
    global LATE_FEED
    LATE_FEED = pub("metric-data", "late-feed")  # expect: missing-cleanup at pub


def start_walrus(store):
    if (feed := store.register_producer("walrus", "walrus-feed")) is not None:  # expect: missing-cleanup at store
        feed.publish(1)


def exit_stack(store):
    with contextlib.ExitStack() as stack:
        feed = stack.enter_context(store.register_producer("stacked", "stacked-feed"))
        feed.publish(1)
