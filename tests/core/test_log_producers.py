from __future__ import annotations

from mapstore_core import JobManager, MapObjectStore, create_job_widget_bridge

EXPECTED_ONE = "📤 Channel: paragraph-content\n   Producers: 1\n   1. summary-service (producer)"


def test_no_producers(store: MapObjectStore) -> None:
    assert store.log_producers() == "📤 No producers registered"


def test_single_block_is_exact(store: MapObjectStore) -> None:
    store.register_producer("paragraph-content", "summary-service")
    assert store.log_producers() == EXPECTED_ONE


def test_order_kinds_and_blank_lines(store: MapObjectStore) -> None:
    jobs = JobManager()
    job = jobs.create("summarize")
    t = store.register_producer("table-data", "market-data-service")
    store.register_producer("metric-data", "realtime-service")
    store.register_producer("metric-data", "polling-service")
    create_job_widget_bridge(job, "paragraph-content", jobs=jobs, store=store)
    # re-registering does not move the table channel: ordered by first-ever registration
    t.close()
    store.register_producer("table-data", "market-data-service")
    assert store.log_producers() == (
        "📤 Channel: table-data\n"
        "   Producers: 1\n"
        "   1. market-data-service (producer)\n"
        "\n"
        "📤 Channel: metric-data\n"
        "   Producers: 2\n"
        "   1. realtime-service (producer)\n"
        "   2. polling-service (producer)\n"
        "\n"
        "📤 Channel: paragraph-content\n"
        "   Producers: 1\n"
        "   1. job-bridge:summarize-1 (bridge)"
    )


def test_channels_without_open_producers_are_left_out(store: MapObjectStore) -> None:
    store.register_producer("prices", "price-feed").close()
    store.register_consumer("prices", "price-widget")
    assert store.log_producers() == "📤 No producers registered"


def test_one_channel(store: MapObjectStore) -> None:
    store.register_producer("table-data", "market-data-service")
    store.register_producer("paragraph-content", "summary-service")
    assert store.log_producers("paragraph-content") == EXPECTED_ONE
