"""The demo sources register where the guide says, publish valid data, and clean up."""

from __future__ import annotations

import pytest

from mapstore_core import MapObjectStore, MetricData, ParagraphContent, TableData
from mapstore_tui.demo import DemoSources
from mapstore_tui.demo.user_form import FormRejected
from tests.poll import poll_until

GUIDE_IDS = {
    "static-page-content",
    "market-data-service",
    "realtime-service",
    "polling-service",
    "user-input-form",
}


@pytest.fixture
def demo() -> DemoSources:
    sources = DemoSources(MapObjectStore(), seed=7)
    sources.start()
    yield sources
    sources.stop()


def test_every_pattern_registers_with_the_guides_ids(demo: DemoSources) -> None:
    producers = {p.id: p for p in demo.store.producers()}
    assert set(producers) == GUIDE_IDS
    assert producers["market-data-service"].registered_at.endswith(
        "mapstore_tui/demo/market_data.py:"
        + producers["market-data-service"].registered_at.rsplit(":", 1)[1]
    )
    assert isinstance(demo.store.get("table-data"), TableData)
    assert isinstance(demo.store.get("metric-data"), MetricData)
    assert demo.store.diagnostics() == []


def test_ticks_publish(demo: DemoSources) -> None:
    before = {c.name: c.publish_count for c in demo.store.channels()}
    demo.tick_realtime()
    demo.tick_polling()
    demo.refresh_market()
    after = {c.name: c.publish_count for c in demo.store.channels()}
    assert after["metric-data"] == before["metric-data"] + 2
    assert after["table-data"] == before["table-data"] + 1


def test_same_seed_same_data() -> None:
    tables = []
    for _ in range(2):
        sources = DemoSources(MapObjectStore(), seed=3)
        sources.start()
        sources.tick_realtime()
        tables.append((sources.store.get("table-data"), sources.store.get("metric-data")))
        sources.stop()
    assert tables[0] == tables[1]


def test_form_validates_inline_and_publishes(demo: DemoSources) -> None:
    with pytest.raises(FormRejected) as info:
        demo.form.submit("", "   ")
    assert set(info.value.problems) == {"title", "content"}
    value = demo.form.submit("Standup", "All green", markdown=True)
    assert value == ParagraphContent(title="Standup", content="All green", markdown=True)
    assert demo.store.values("paragraph-content")["user-input-form"] == value


def test_job_progress_then_paragraph(demo: DemoSources) -> None:
    job_id = demo.summaries.submit(fail=False)
    bridge_id = f"job-bridge:{job_id}"
    assert bridge_id in {p.id for p in demo.store.producers("paragraph-content")}
    progress = []
    while job_id in demo.summaries.running:
        demo.tick_jobs()
        progress.append(demo.jobs.get(job_id).progress)
    assert progress == sorted(progress) and progress[-1] == 1.0
    value = demo.store.values("paragraph-content")[bridge_id]
    assert value.title == f"AI summary ({job_id})" and value.markdown


def test_failing_job_is_diagnosed(demo: DemoSources) -> None:
    job_id = demo.summaries.submit(fail=True)
    while job_id in demo.summaries.running:
        demo.tick_jobs()
    assert demo.jobs.get(job_id).status == "failed"
    assert [d.rule for d in demo.store.diagnostics()] == ["job-failed"]


def test_old_bridges_are_disconnected(demo: DemoSources) -> None:
    for _ in range(5):
        job_id = demo.summaries.submit(fail=False)
        while job_id in demo.summaries.running:
            demo.tick_jobs()
    bridges = [p for p in demo.store.producers() if p.kind == "bridge"]
    assert len(bridges) == 3


def test_stop_closes_every_source() -> None:
    sources = DemoSources(MapObjectStore(), seed=1)
    sources.start()
    sources.summaries.submit()
    sources.stop()
    assert sources.store.producers() == []
    assert sources.store.log_producers() == "📤 No producers registered"


def test_antipatterns_trigger_every_rule_but_job_failed() -> None:
    sources = DemoSources(MapObjectStore(), seed=1, antipatterns=True)
    sources.start()
    sources.tick_antipatterns()
    rules = {d.rule for d in sources.store.diagnostics()}
    assert rules == {
        "non-descriptive-id",
        "duplicate-source",
        "producer-in-widget",
        "leaked-producer",
        "registration-churn",
        "unvalidated-publish",
    }
    sources.stop()
    # only the leaked producer is left: nobody can close it
    assert [p.id for p in sources.store.producers()] == ["orphaned-session-feed"]


def test_threads_drive_the_sources() -> None:
    sources = DemoSources(MapObjectStore(), seed=1)
    sources.REALTIME_INTERVAL = 0.01
    sources.start()
    sources.run_threads()
    try:
        poll_until(
            lambda: sources.store.producers("metric-data")[0].publish_count >= 5,
            what="five publishes from the realtime thread",
        )
    finally:
        sources.stop()
    assert sources.store.producers() == []


def test_close_is_the_verb_and_stop_its_alias() -> None:
    store = MapObjectStore()
    sources = DemoSources(store, seed=7)
    sources.start()
    sources.close()
    assert store.producers() == []
    sources.close()  # idempotent
    again = DemoSources(store, seed=7)
    again.start()
    again.polling.stop()
    assert "polling-service" not in {p.id for p in store.producers()}
    again.stop()
    assert store.producers() == []
