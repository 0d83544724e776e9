"""Recording files: long ones, damaged ones, odd values, a slow or full disk, the flight window."""

from __future__ import annotations

import datetime
import gzip
import json
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import pytest

from mapstore_core import (
    MapObjectStore,
    MapStoreError,
    RecordingError,
    RecordingWarning,
    create_widget_publisher,
    open_recording,
)
from mapstore_core.plumbing import jsonable
from mapstore_core.recording import CHECKPOINT_EVENTS, FORMAT_VERSION, _recording
from tests.conftest import FakeClock
from tests.core.test_recording import answers
from tests.poll import poll_until


def busy_store() -> tuple[MapObjectStore, Any, Any]:
    store = MapObjectStore(history_size=5, clock=FakeClock())
    feed = store.register_producer("prices", "feed")
    metric = create_widget_publisher("metric-data", "cpu", store=store)
    return store, feed, metric


@pytest.mark.parametrize("name", ["long.jsonl", "long.jsonl.gz"])
def test_any_point_of_a_long_recording_is_rebuilt_from_its_nearest_checkpoint(
    tmp_path: Path, name: str
) -> None:
    store, feed, metric = busy_store()
    said: list[dict[str, Any]] = []
    total = 3 * CHECKPOINT_EVENTS + 123
    with store.record(tmp_path / name) as rec:
        for n in range(total):
            if n % 2:
                feed.publish({"n": n})
            else:
                metric.publish({"label": "cpu", "value": n})
            if n % 700 == 0:
                rec.mark(f"at {n}")
                said.append(answers(store))
    stats = rec.stats()
    reader = open_recording(tmp_path / name)
    assert len(reader) == total + len(said) == stats["events"]
    assert stats["checkpoints"] >= 4
    assert stats["bytes"] == os.path.getsize(tmp_path / name)
    for (_label, index), expected in zip(reader.markers(), said, strict=True):
        assert answers(reader.state_at(index)) == expected
    last = reader.state_at(-1)
    assert answers(last) == answers(store)
    middle = list(reader.events(CHECKPOINT_EVENTS - 2, CHECKPOINT_EVENTS + 2))
    assert [e.kind for e in middle] == ["published"] * 4
    assert middle[0].seq + 3 == middle[-1].seq


def test_values_that_are_not_json_are_kept_as_the_debug_wire_keeps_them(tmp_path: Path) -> None:
    store, feed, metric = busy_store()
    odd = {
        "when": datetime.datetime(2026, 12, 6, 14, 3, tzinfo=datetime.UTC),
        "huge": 10**400,
        "tags": {"b", "a"} and ["a", "b"],
        "nan": float("nan"),
    }
    with store.record(tmp_path / "odd.jsonl.gz") as rec:
        feed.publish(odd)
        metric.publish({"label": "cpu", "value": 1})
        rec.mark("both")
    view = open_recording(tmp_path / "odd.jsonl.gz").state_at(-1)
    assert view.values("prices") == {"feed": jsonable(odd)}
    assert view.values("metric-data") == jsonable(store.values("metric-data"))
    assert view.log_producers() == store.log_producers()


def test_a_recording_cut_mid_line_opens_up_to_its_last_whole_event(tmp_path: Path) -> None:
    store, feed, _ = busy_store()
    path = tmp_path / "cut.jsonl"
    with store.record(path):
        for n in range(10):
            feed.publish({"n": n})
    whole = path.read_bytes()
    path.write_bytes(whole[:-30])  # the process died while writing its last line
    with pytest.warns(RecordingWarning, match="unfinished line"):
        reader = open_recording(path)
    assert len(reader) == 9
    assert reader.cut == len(whole.splitlines()[-1]) + 1 - 30
    assert reader.state_at(-1).values("prices") == {"feed": {"n": 8}}


_KILLED_APP = """
import sys, time
from mapstore_core import MapObjectStore
store = MapObjectStore()
feed = store.register_producer("prices", "feed")
rec = store.record(sys.argv[1])
for n in range(50):
    feed.publish({"n": n})
rec.mark("all published")
print("ready", flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("name", ["killed.jsonl", "killed.jsonl.gz"])
def test_the_recording_of_a_process_killed_with_sigkill_opens(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    app = subprocess.Popen(
        [sys.executable, "-c", _KILLED_APP, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert app.stdout is not None and app.stdout.readline() == "ready\n"

        def readable() -> bool:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RecordingWarning)
                try:
                    return len(open_recording(path).markers()) == 1
                except RecordingError:
                    return False

        poll_until(readable, what="the marker on disk (flushed within FLUSH_SECONDS)")
    finally:
        app.send_signal(signal.SIGKILL)
        app.wait()
        if app.stdout is not None:
            app.stdout.close()
    reader = open_recording(path)
    assert len(reader) == 51
    assert reader.state_at(-1).values("prices") == {"feed": {"n": 49}}


def test_a_corrupt_line_is_skipped_counted_and_warned_about_never_taken_for_the_end(
    tmp_path: Path,
) -> None:
    store, feed, _ = busy_store()
    path = tmp_path / "bad.jsonl"
    with store.record(path):
        for n in range(6):
            feed.publish({"n": n})
    lines = path.read_bytes().splitlines(keepends=True)
    lines[4] = b'{"kind":"published","chan\xff\x00garbage\n'  # the third event's line
    lines.insert(6, b"\n")  # and an empty line
    path.write_bytes(b"".join(lines))
    with pytest.warns(RecordingWarning, match="2 line"):
        reader = open_recording(path)
    assert reader.skipped == 2
    assert len(reader) == 5
    assert [e.update.value["n"] for e in reader.events() if e.update] == [0, 1, 3, 4, 5]
    assert reader.state_at(-1).values("prices") == {"feed": {"n": 5}}


def test_a_newer_format_is_refused_naming_its_version(tmp_path: Path) -> None:
    path = tmp_path / "future.jsonl"
    head = {"format": "mapstore-recording", "version": FORMAT_VERSION + 6}
    path.write_text(json.dumps(head) + "\n")
    with pytest.raises(MapStoreError, match=f"version-{FORMAT_VERSION + 6} recording") as caught:
        open_recording(path)
    assert isinstance(caught.value, RecordingError)
    assert caught.value.version == FORMAT_VERSION + 6


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"hello\nworld\n",
        b"\x89PNG\r\n\x1a\n\x00\x00",
        gzip.compress(b'{"some": "json"}\n'),
        b'{"format": "mapstore-recording", "version": "one"}\n',
    ],
    ids=["empty", "text", "binary", "gzip-of-json", "bad-version"],
)
def test_what_is_not_a_recording_is_refused_in_one_line(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "not-a-recording.jsonl"
    path.write_bytes(content)
    with pytest.raises(RecordingError) as caught:
        open_recording(path)
    message = str(caught.value)
    assert "\n" not in message
    assert str(path) in message


def test_a_missing_file_is_refused_with_why(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="cannot be read"):
        open_recording(tmp_path / "nope.jsonl")
    with pytest.raises(RecordingError, match="cannot create"):
        MapObjectStore().record(tmp_path / "no-such-dir" / "r.jsonl")


def test_a_recording_is_private_and_never_written_through_a_planted_symlink(
    tmp_path: Path,
) -> None:
    store = MapObjectStore()
    with store.record(tmp_path / "mine.jsonl"):
        pass
    assert (tmp_path / "mine.jsonl").stat().st_mode & 0o077 == 0
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me")
    (tmp_path / "planted.jsonl").symlink_to(precious)
    with pytest.raises(RecordingError, match="symbolic link"):
        store.record(tmp_path / "planted.jsonl")
    assert precious.read_text() == "keep me"


def test_a_full_disk_stops_the_recording_not_the_app(tmp_path: Path) -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("needs /dev/full")
    store, feed, _ = busy_store()
    rec = store.record("/dev/full")
    for n in range(100_000 // 50):
        feed.publish({"n": n, "padding": "x" * 200})
    rec.close()
    assert "No space left" in (rec.stats()["error"] or "")
    feed.publish({"n": "still publishing"})
    assert store.get("prices") == {"n": "still publishing"}


def test_a_writer_that_falls_behind_records_a_gap_and_goes_on_right(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file is a pipe nobody reads for a while: a slow disk, as the writer sees it."""
    monkeypatch.setattr(_recording, "MAX_PENDING", 500)
    pipe = tmp_path / "slow"
    os.mkfifo(pipe)
    reader_fd = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)
    store, feed, _ = busy_store()
    rec = store.record(pipe)
    for n in range(20_000):  # far more than the pipe's buffer holds
        feed.publish({"n": n, "padding": "x" * 100})
    poll_until(lambda: rec.stats()["dropped"] > 0, what="a gap")
    received = bytearray()

    def drain() -> None:
        os.set_blocking(reader_fd, True)
        while chunk := os.read(reader_fd, 1 << 16):
            received.extend(chunk)

    draining = threading.Thread(target=drain)
    draining.start()
    feed.publish({"n": "last"})
    rec.close()
    draining.join(timeout=30)
    os.close(reader_fd)
    copy = tmp_path / "received.jsonl"
    copy.write_bytes(bytes(received))
    reader = open_recording(copy)
    gaps = [e for e in reader.events() if e.kind == "gap"]
    assert gaps
    assert sum(e.detail["dropped"] for e in gaps if e.detail) == rec.stats()["dropped"]
    assert "writer fell behind" in (gaps[0].message or "")
    assert answers(reader.state_at(-1)) == answers(store)


def test_the_flight_recorder_dumps_its_window_and_the_state_before_it(tmp_path: Path) -> None:
    clock = FakeClock()
    store = MapObjectStore(history_size=3, clock=clock)
    feed = store.register_producer("prices", "feed")
    flight = store.flight_recorder(seconds=30, max_events=40)
    for n in range(300):
        clock.advance(0.1)
        feed.publish({"n": n})
        if n % 5 == 4:
            time.sleep(0.06)  # the recorder's thread takes snapshots as time goes by
    stats = flight.dump(tmp_path / "window.jsonl.gz")
    reader = open_recording(tmp_path / "window.jsonl.gz")
    numbers = [e.update.value["n"] for e in reader.events() if e.update is not None]
    assert len(reader) == stats["events"]
    assert 20 <= len(numbers) <= 40
    assert numbers == list(range(300 - len(numbers), 300))
    before = reader.initial_state()
    assert before.values("prices") == {"feed": {"n": 299 - len(numbers)}}
    assert answers(reader.state_at(-1)) == answers(store)
    flight.close()
    assert flight.closed
    with pytest.raises(RecordingError, match="the flight recorder is closed"):
        flight.dump(tmp_path / "after.jsonl")
    assert not (tmp_path / "after.jsonl").exists()


def test_the_flight_window_is_bounded_by_time_too(tmp_path: Path) -> None:
    clock = FakeClock()
    store = MapObjectStore(clock=clock)
    feed = store.register_producer("prices", "feed")
    with store.flight_recorder(seconds=10, max_events=1000) as flight:
        for n in range(100):
            clock.advance(1.0)
            feed.publish({"n": n})
        flight.dump(tmp_path / "last-ten-seconds.jsonl")
    reader = open_recording(tmp_path / "last-ten-seconds.jsonl")
    assert [e.update.value["n"] for e in reader.events() if e.update] == list(range(90, 100))
    assert reader.initial_state().values("prices") == {"feed": {"n": 89}}


def test_bad_arguments_are_refused() -> None:
    store = MapObjectStore()
    with pytest.raises(ValueError, match="seconds"):
        store.flight_recorder(seconds=0)
    with pytest.raises(ValueError, match="max_events"):
        store.flight_recorder(max_events=0)
    with pytest.raises(TypeError, match="label"):
        with warnings.catch_warnings():
            store.record(os.devnull).mark(3)  # type: ignore[arg-type]


def test_a_what_if_replays_as_if_a_producer_never_published(tmp_path: Path) -> None:
    store = MapObjectStore()
    good = store.register_producer("metric", "good")
    bad = store.register_producer("metric", "bad")
    good.publish(1)
    bad.publish(-999)
    with store.record(tmp_path / "w.jsonl") as rec:
        good.publish(2)
        bad.publish(-1000)
        rec.mark("wrong number on screen")
    reader = open_recording(tmp_path / "w.jsonl")
    ((_, at),) = reader.markers()
    assert reader.state_at(at).get("metric") == -1000
    without = reader.state_at(at, skip_producer=("metric", "bad"))
    assert without.get("metric") == 2
    assert without.values("metric") == {"good": 2}
    assert [u.producer_id for u in without.history("metric")] == ["good", "good"]
