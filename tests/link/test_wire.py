"""The link's entry format 2 without Redis: events in their one JSON form, strictly read back."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mapstore_core import ChannelUpdate, StoreEvent
from mapstore_core._events import event_from_json, event_to_json
from mapstore_core._schemas import MetricData
from mapstore_core.link._wire import (
    MAX_ENTRY_BYTES,
    Change,
    change_event,
    decode_entry,
    encode_entry,
    entry_header,
    entry_prefix,
    wire_change,
)

DESCRIBED = ("producer", "svc.py:3", True)


def test_each_change_crosses_as_its_event_and_reads_back_equal() -> None:
    ops: list[tuple[str, Any]] = [
        ("reg", None),
        ("pub", {"n": 1}),
        ("pub", MetricData(label="load", value=0.5)),  # a model goes as its fields' data
        ("clr", None),
        ("close", "process 'web-2' closed its link"),
    ]
    changes = [
        wire_change(op, "ticks", "svc", n, 1795770000.25 + n, payload, DESCRIBED)
        for n, (op, payload) in enumerate(ops, start=1)
    ]
    raw = encode_entry("web-2", "abc123", "ticks", {"svc": DESCRIBED}, changes)
    assert raw.startswith(entry_prefix("web-2", "abc123"))
    assert entry_header(raw) == ("web-2", "abc123")
    entry = decode_entry(raw, channel="ticks")
    assert entry is not None and entry.refused == []
    assert (entry.process, entry.incarnation, entry.channel) == ("web-2", "abc123", "ticks")
    assert entry.meta == {"svc": DESCRIBED}
    sent = [
        change_event(op, "ticks", "svc", 1795770000.25 + n, payload, DESCRIBED)
        for n, (op, payload) in enumerate(ops, start=1)
    ]
    # what arrives is the event sent, through its JSON form (a model as JSON data)
    expected = [event_from_json(json.loads(json.dumps(event_to_json(e)))) for e in sent]
    assert entry.changes == [Change(n, e) for n, e in enumerate(expected, start=1)]
    kinds = [c.event.kind for c in entry.changes]
    assert kinds == ["registered", "published", "published", "cleared", "closed"]
    published = entry.changes[2].event
    assert published.update == ChannelUpdate(
        "ticks",
        "svc",
        "published",
        {"label": "load", "value": 0.5, "change": None, "change_type": "neutral"},
        0,
        1795770003.25,
    )
    registered = entry.changes[0].event
    assert registered.where == "svc.py:3"
    assert registered.detail == {"kind": "producer", "validated": True, "widget": None}
    assert entry.changes[-1].event.message == "process 'web-2' closed its link"


def test_an_event_is_compact_on_the_wire() -> None:
    (n, event) = wire_change("pub", "ticks", "svc", 7, 1.5, {"n": 1}, DESCRIBED)
    assert n == 7
    assert event == {
        "kind": "published",
        "channel": "ticks",
        "producer_id": "svc",
        "timestamp": 1.5,
        "update": {
            "channel": "ticks",
            "producer_id": "svc",
            "kind": "published",
            "value": {"n": 1},
            "seq": 0,
            "timestamp": 1.5,
        },
    }


def test_a_format_1_entry_is_refused_saying_why() -> None:
    raw = json.dumps({"v": 1, "p": "old", "i": "1", "c": "ticks", "P": {}, "u": []})
    with pytest.raises(ValueError, match="format 1 \\(an older mapstore\\)"):
        decode_entry(raw.encode(), channel="ticks")


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"\x80\x04\x95pickle", "not JSON"),
        (b"[1, 2]", "a JSON object"),
        (b'{"v": true, "p": "x", "i": "1", "c": "t", "P": {}, "e": []}', "unknown entry format"),
        (b'{"v": 2, "p": "has space", "i": "1", "c": "t", "P": {}, "e": []}', "process name"),
        (b'{"v": 2, "p": "x", "i": "1", "c": "other", "P": {}, "e": []}', "found under"),
        (b'{"v": 2, "p": "x", "i": "1", "c": "t", "P": [], "e": []}', "'P'"),
        (b'{"v": 2, "p": "x", "i": "1", "c": "t", "P": {"a": [["p"], "", 1]}, "e": []}', "bad"),
        (b"[" * 100_000 + b"]" * 100_000, "not JSON"),  # deeper than any parser goes
        (b"{" * (MAX_ENTRY_BYTES + 1), "limit"),
    ],
)
def test_a_bad_envelope_is_refused(raw: bytes, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        decode_entry(raw, channel="t")


def test_an_integer_too_long_to_parse_arrives_as_text_with_the_rest() -> None:
    """Written by another sender (ours sends such a number as text already)."""
    change = wire_change("pub", "t", "svc", 1, 1.0, {"id": 0}, DESCRIBED)
    raw = encode_entry("x", "1", "t", {"svc": DESCRIBED}, [change, [2, change[1]]])
    raw = raw.replace(b'"id":0', b'"id":' + b"9" * 5000, 1)
    entry = decode_entry(raw, channel="t")
    assert entry is not None and entry.refused == []
    values = [c.event.update.value for c in entry.changes if c.event.update is not None]
    assert values == [
        {"id": "<int of about 5,000 digits, longer than JSON here carries>"},
        {"id": 0},
    ]


def test_a_sender_it_does_not_accept_is_skipped_before_its_events_are_read() -> None:
    raw = encode_entry("gone", "1", "t", {}, [[1, "not even an event"]])
    assert decode_entry(raw, channel="t", accept=lambda process, run: False) is None


def test_an_event_that_is_not_a_change_of_the_entry_is_refused_alone() -> None:
    good = wire_change("pub", "t", "svc", 1, 1.0, {"n": 1}, DESCRIBED)
    closed = StoreEvent("closed", "t", "svc", 1.0)
    raw = encode_entry(
        "x",
        "1",
        "t",
        {"svc": DESCRIBED},
        [[2, event_to_json(closed._replace(kind="leaked"))], good],
    )
    entry = decode_entry(raw, channel="t")
    assert entry is not None
    assert [c.n for c in entry.changes] == [1]
    assert entry.refused == ["a 'leaked' event does not cross a link"]
