"""A recording answers, at every marker, exactly what the live store answered there.

The hypothesis state machine of ``test_mirror`` drives a real store with random operations
(producers raw, validated and bridged, bad payloads, clears, closes, leaks, consumers that
raise or refuse, linked processes' changes); here it also records the store into a plain
and a gzip file and keeps a flight recorder on, marks the recordings at random points and
writes down what the store answered. After the run, every file is opened and
``state_at(marker)`` must give the same answers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import rule

from mapstore_core import MapObjectStore, open_recording
from mapstore_core.plumbing import jsonable
from tests.core.test_mirror import StoreAndMirrors


def answers(reads: Any) -> dict[str, Any]:
    """What a panel asks a store, as JSON data (a recording's values are JSON data)."""
    channels = [c.name for c in reads.channels()]
    return {
        "log": reads.log_producers(),
        "producers": [p.to_dict() for p in reads.producers()],
        "consumers": [c.to_dict() for c in reads.consumers()],
        "diagnostics": [d.to_dict() for d in reads.diagnostics()],
        "channels": [c.to_dict() for c in reads.channels()],
        "values": {name: jsonable(reads.values(name)) for name in channels},
        "history": {
            name: [{**u._asdict(), "value": jsonable(u.value)} for u in reads.history(name)]
            for name in channels
        },
        "snapshot": json.loads(json.dumps(reads.snapshot())),
    }


class RecordedStore(StoreAndMirrors):
    """``StoreAndMirrors``, recorded; see the module docstring."""

    folder: Path

    def __init__(self) -> None:
        super().__init__()
        RecordedStore.runs += 1
        base = RecordedStore.folder / f"run-{RecordedStore.runs}"
        self.paths = [Path(f"{base}.jsonl"), Path(f"{base}.jsonl.gz")]
        self.recordings = [self.store.record(path) for path in self.paths]
        self.flight = self.store.flight_recorder(seconds=3600, max_events=100_000)
        self.marks: list[tuple[str, dict[str, Any]]] = []

    runs = 0

    @rule(label=st.sampled_from(["a", "b", "refresh clicked"]))
    def mark(self, label: str) -> None:
        self.store.producers()  # reports leaks the collector found, as the invariant does
        for recording in self.recordings:
            recording.mark(label)
        self.flight.mark(label)
        self.marks.append((label, answers(self.store)))

    def teardown(self) -> None:
        self.store.producers()
        final = answers(self.store)
        dump = self.paths[0].with_suffix(".flight.jsonl.gz")
        stats = self.flight.dump(dump)
        self.flight.close()
        for recording in self.recordings:
            recording.close()
            assert recording.stats()["dropped"] == 0
        for path in self.paths:
            reader = open_recording(path)
            assert [label for label, _ in reader.markers()] == [label for label, _ in self.marks]
            for (_, index), (_, said) in zip(reader.markers(), self.marks, strict=True):
                assert answers(reader.state_at(index)) == said
            if len(reader):
                assert answers(reader.state_at(len(reader) - 1)) == final
        flown = open_recording(dump)
        assert len(flown) == stats["events"]
        assert [label for label, _ in flown.markers()] == [label for label, _ in self.marks]
        for (_, index), (_, said) in zip(flown.markers(), self.marks, strict=True):
            assert answers(flown.state_at(index)) == said
        assert answers(flown.state_at(-1) if len(flown) else flown.initial_state()) == final


RecordedStore.TestCase.settings = settings(max_examples=40, stateful_step_count=40, deadline=None)


def test_every_marker_of_a_recording_answers_what_the_store_answered(tmp_path: Path) -> None:
    RecordedStore.folder = tmp_path
    RecordedStore.TestCase().runTest()


def test_a_store_that_moves_between_two_marks_is_seen_as_it_was(tmp_path: Path) -> None:
    store = MapObjectStore()
    feed = store.register_producer("prices", "feed")
    feed.publish({"n": 0})
    with store.record(tmp_path / "r.jsonl") as rec:
        feed.publish({"n": 1})
        rec.mark("one")
        seen = store.log_producers()
        feed.publish({"n": 2})
        other = store.register_producer("prices", "other")
        other.publish("x")
        rec.mark("two")
    reader = open_recording(tmp_path / "r.jsonl")
    (one, i), (two, j) = reader.markers()
    assert (one, two) == ("one", "two")
    assert reader.state_at(i).log_producers() == seen
    assert reader.state_at(i).values("prices") == {"feed": {"n": 1}}
    assert reader.state_at(j).values("prices") == {"feed": {"n": 2}, "other": "x"}
    kinds = [e.kind for e in reader.events()]
    assert kinds == ["published", "marker", "published", "registered", "published", "marker"]
