"""``mapstore-tui record redis://... --namespace NS``: every process of a namespace, one file.

A real redis-server, two real worker processes that publish a known sequence, and the
recorder in a process of its own: a store linked as an observer, which records itself. Each
event of another process carries its ``process``; the recording's states show every
process's producers.
"""

from __future__ import annotations

import functools
import os
import re
import signal
import subprocess
import sys
import warnings
from pathlib import Path

from mapstore_core import RecordingError, RecordingWarning, StoreEvent, open_recording
from tests.link.helpers import RedisServer, spawn_worker
from tests.poll import poll_until

NS = "test"  # the namespace tests/link/worker.py links to
ALIVE = ("registered", "published")
WORKERS = ("web-1", "jobs-1")


def recorder(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mapstore_tui", "record", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def finished(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    return process.returncode, out, err


def written(path: Path) -> list[StoreEvent]:
    """The events written so far (the file is still being written)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RecordingWarning)  # a line half written, at its end
        try:
            return list(open_recording(path).events())
        except RecordingError:  # its header not on disk yet
            return []


def seen(path: Path, kind: str, process: str, value: object = None) -> bool:
    """Whether an event of ``kind`` from ``process`` (with that value) was written."""
    return any(
        e.kind == kind and e.process == process and (e.update and e.update.value) == value
        for e in written(path)
    )


def fleet_of(path: Path) -> set[str]:
    """The processes the last ``fleet`` event written names."""
    fleets = [e.detail or {} for e in written(path) if e.kind == "fleet"]
    return {p.get("name") for p in fleets[-1].get("processes", [])} if fleets else set()


def test_every_process_of_a_namespace_is_recorded_with_its_process(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    path = tmp_path / "fleet.jsonl"
    process = recorder(redis_server.url, "--namespace", NS, "-o", str(path))
    workers: list[subprocess.Popen[str]] = []
    try:
        assert process.stderr is not None
        started = process.stderr.readline()
        assert started == (
            f"mapstore-tui record: recording namespace {NS!r} at {redis_server.url} "
            f"into {path} until Ctrl+C\n"
        )
        workers = [spawn_worker(redis_server.url, name, "publish", "5") for name in WORKERS]
        for worker in workers:
            assert worker.stdout is not None
            assert worker.stdout.readline() == "ready\n"
            assert worker.stdout.readline() == "done\n"
        for name in WORKERS:
            last_of = functools.partial(seen, path, "published", name, {"n": 4})
            poll_until(last_of, what=f"the last publish of {name}")
        poll_until(lambda: fleet_of(path) == set(WORKERS), what="the fleet of both")
        leaving = workers.pop()
        leaving.communicate("\n", timeout=30)  # it closes its link: its producer closes
        poll_until(lambda: seen(path, "closed", WORKERS[-1]), what="the close of its producer")
        process.send_signal(signal.SIGTERM)
        code, out, err = finished(process)
    finally:
        for worker in workers:
            worker.communicate("\n", timeout=30)  # they close their links once told
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert code == 0, err
    assert err == ""
    reader = open_recording(path)
    assert re.fullmatch(
        rf"recorded {len(reader):,} events into {re.escape(str(path))} "
        r"\(\d[\d,]* bytes, 0 dropped\)\n",
        out,
    ), out

    events = list(reader.events())
    assert reader.markers() == [(f"recording namespace {NS!r} at {redis_server.url}", 0)]
    assert reader.state_at(0).producers() == []  # nobody linked yet when it began

    def of(name: str, kind: str) -> list[StoreEvent]:
        return [e for e in events if e.kind == kind and e.process == name]

    for name in WORKERS:
        [registered] = of(name, "registered")
        assert (registered.channel, registered.producer_id) == ("ticks", "tick-service")
        values = [e.update.value["n"] for e in of(name, "published") if e.update]
        # In order, ending with the newest. A process found after it published arrives as
        # its newest value, the others counted (``folded``): the link's promise, kept here.
        assert values == sorted(values) and values[-1] == 4, (name, values)
        folded = sum((e.detail or {}).get("folded", 0) for e in of(name, "published"))
        assert len(values) + folded == 5, name
    # A process that closes its link clears its producers' values, then closes them.
    cleared, closed = (e for e in events if e.process == WORKERS[-1] and e.kind not in ALIVE)
    assert (cleared.kind, closed.kind) == ("cleared", "closed")
    assert (closed.channel, closed.producer_id) == ("ticks", "tick-service")
    assert closed.message == f"process {WORKERS[-1]!r} closed its link"
    both = reader.state_at(events.index(cleared) - 1)  # every process's producers, as they were
    assert [p.publish_count for p in both.producers()] == [5, 5]
    assert sorted((p.channel, p.id, p.process) for p in both.producers()) == [
        ("ticks", "tick-service", name) for name in sorted(WORKERS)
    ]
    assert both.values("ticks") == {f"tick-service@{name}": {"n": 4} for name in WORKERS}
    assert "(producer @ web-1)" in both.log_producers()
    assert {p.name for p in both.processes()} == set(WORKERS)
    last = reader.state_at(-1)
    assert [(p.id, p.process) for p in last.producers()] == [("tick-service", "web-1")]


def test_an_unreachable_redis_is_one_line_with_its_reason_and_no_file(tmp_path: Path) -> None:
    path = tmp_path / "never.jsonl"
    url = "redis://user:secret@127.0.0.1:1/0"  # nothing listens on port 1
    code, out, err = finished(recorder(url, "--namespace", "dash", "-o", str(path)))
    assert code == 2 and out == ""
    assert err.count("\n") == 1, err
    assert err.startswith("mapstore-tui: cannot read namespace 'dash' at redis://user:***@")
    assert "Connection refused" in err  # Redis's own words, not only a guess
    assert "secret" not in err
    assert not path.exists()
