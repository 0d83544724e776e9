from __future__ import annotations

import logging
import threading

import pytest

from mapstore_core import (
    ChannelNotDefined,
    JobManager,
    JobStateError,
    MapObjectStore,
    ParagraphContent,
    TableData,
    UnknownJob,
    create_job_widget_bridge,
)

from .helpers import collect_events, here, of_kind


@pytest.fixture
def jobs() -> JobManager:
    return JobManager()


def test_job_lifecycle(jobs: JobManager) -> None:
    job_id = jobs.create("summarize")
    assert job_id == "summarize-1" and jobs.create("summarize") == "summarize-2"
    assert jobs.get(job_id).status == "pending"
    seen = []
    jobs.subscribe(job_id, seen.append)
    jobs.update(job_id, status="running", progress=0.4)
    jobs.complete(job_id, result="done")
    assert [(u.status, u.progress) for u in seen] == [("running", 0.4), ("completed", 1.0)]
    assert jobs.get(job_id).result == "done"


def test_job_errors(jobs: JobManager) -> None:
    job_id = jobs.create("summarize")
    with pytest.raises(UnknownJob, match="nope"):
        jobs.get("nope")
    with pytest.raises(JobStateError, match=r"between 0.0 and 1.0"):
        jobs.update(job_id, progress=1.5)
    with pytest.raises(JobStateError, match="complete\\(\\) or fail\\(\\)"):
        jobs.update(job_id, status="completed")  # type: ignore[arg-type]
    jobs.fail(job_id, error="model timed out")
    assert jobs.get(job_id).error == "model timed out"
    with pytest.raises(JobStateError, match="already failed"):
        jobs.complete(job_id, result="late")


def test_job_listener_failure_is_logged_and_others_run(jobs: JobManager, caplog) -> None:
    job_id = jobs.create("summarize")
    seen = []

    def broken(update: object) -> None:
        raise RuntimeError("listener bug")

    jobs.subscribe(job_id, broken)
    jobs.subscribe(job_id, seen.append)
    with caplog.at_level(logging.ERROR, logger="mapstore_core"):
        jobs.update(job_id, status="running")
    assert len(seen) == 1 and "listener bug" in caplog.text


def test_bridge_registers_at_creation_and_publishes_on_completion(
    store: MapObjectStore, jobs: JobManager
) -> None:
    job_id = jobs.create("summarize")
    where = here(1)
    bridge = create_job_widget_bridge(job_id, "paragraph-content", jobs=jobs, store=store)
    [info] = store.producers("paragraph-content")
    assert (info.id, info.kind, info.registered_at) == (f"job-bridge:{job_id}", "bridge", where)
    assert info.has_value is False
    jobs.update(job_id, status="running", progress=0.5)
    assert store.get("paragraph-content") is None
    jobs.complete(job_id, result="The summary.")
    assert store.get("paragraph-content") == ParagraphContent(
        title=f"Job {job_id}", content="The summary."
    )
    bridge.disconnect()
    bridge.disconnect()
    assert store.producers() == [] and store.get("paragraph-content") is None
    assert not bridge.connected


def test_bridge_validates_dict_results(store: MapObjectStore, jobs: JobManager) -> None:
    job_id = jobs.create("report")
    create_job_widget_bridge(job_id, "table-data", jobs=jobs, store=store)
    jobs.complete(job_id, result={"title": "R", "headers": ["a"], "rows": [[1]]})
    assert store.get("table-data") == TableData(title="R", headers=["a"], rows=[[1]])


def test_bridge_transform(store: MapObjectStore, jobs: JobManager) -> None:
    job_id = jobs.create("summarize")
    create_job_widget_bridge(
        job_id,
        "paragraph-content",
        jobs=jobs,
        store=store,
        transform=lambda r: {"title": "Summary", "content": r.upper(), "markdown": True},
    )
    jobs.complete(job_id, result="abc")
    assert store.get("paragraph-content").content == "ABC"


def test_bridge_invalid_result_is_reported_not_raised_in_the_job(
    store: MapObjectStore, jobs: JobManager
) -> None:
    events = collect_events(store)
    job_id = jobs.create("report")
    create_job_widget_bridge(job_id, "table-data", jobs=jobs, store=store)
    jobs.complete(job_id, result={"title": "R", "headers": ["a", "b"], "rows": [[1]]})
    assert store.get("table-data") is None
    [failed] = of_kind(events, "validation_failed")
    assert failed.producer_id == f"job-bridge:{job_id}" and "rows" in failed.message


def test_failed_job_publishes_nothing_and_is_diagnosed(
    store: MapObjectStore, jobs: JobManager
) -> None:
    events = collect_events(store)
    job_id = jobs.create("summarize")
    bridge = create_job_widget_bridge(job_id, "paragraph-content", jobs=jobs, store=store)
    jobs.fail(job_id, error="model timed out")
    assert store.get("paragraph-content") is None
    [diag] = store.diagnostics()
    assert diag.rule == "job-failed" and diag.producer_id == f"job-bridge:{job_id}"
    assert "model timed out" in diag.message
    assert [e.diagnostic.rule for e in of_kind(events, "diagnostic")] == ["job-failed"]
    assert [p.id for p in store.producers()] == [f"job-bridge:{job_id}"]  # stays, empty
    bridge.disconnect()
    assert store.diagnostics() == [] and store.producers() == []


def test_bridge_on_an_already_completed_job(store: MapObjectStore, jobs: JobManager) -> None:
    job_id = jobs.create("summarize")
    jobs.complete(job_id, result="early")
    create_job_widget_bridge(job_id, "paragraph-content", jobs=jobs, store=store)
    assert store.get("paragraph-content").content == "early"


def test_bridge_from_a_worker_thread(store: MapObjectStore, jobs: JobManager) -> None:
    job_id = jobs.create("summarize")
    seen = []
    store.register_consumer("paragraph-content", "summary-widget", seen.append)
    create_job_widget_bridge(job_id, "paragraph-content", jobs=jobs, store=store)

    def work() -> None:
        for step in range(1, 5):
            jobs.update(job_id, status="running", progress=step / 5)
        jobs.complete(job_id, result="from a thread")

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert [u.value.content for u in seen] == ["from a thread"]


def test_bridge_errors(store: MapObjectStore, jobs: JobManager) -> None:
    with pytest.raises(UnknownJob):
        create_job_widget_bridge("missing", "paragraph-content", jobs=jobs, store=store)
    job_id = jobs.create("summarize")
    with pytest.raises(ChannelNotDefined):
        create_job_widget_bridge(job_id, "raw-channel", jobs=jobs, store=store)
    assert store.producers() == []


def test_bridge_is_a_context_manager(store: MapObjectStore, jobs: JobManager) -> None:
    job_id = jobs.create("summarize")
    with create_job_widget_bridge(job_id, "paragraph-content", jobs=jobs, store=store):
        assert len(store.producers()) == 1
    assert store.producers() == []
    jobs.complete(job_id, result="after disconnect")
    assert store.get("paragraph-content") is None
