"""The link's entry format 2 without Redis: events in their one JSON form, strictly read back."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mapstore_core import ChannelUpdate, StoreEvent
from mapstore_core._events import event_from_json, event_to_json, update_event
from mapstore_core._schemas import MetricData
from mapstore_core.link._wire import (
    MAX_ENTRY_BYTES,
    Change,
    Entry,
    change_event,
    changes,
    check_name,
    client_name,
    decode_entry,
    encode_entry,
    entry_header,
    entry_prefix,
    wire_change,
)

DESCRIBED = ("producer", "svc.py:3", True)


def read(entry: Entry | None) -> tuple[list[Change], list[str]]:
    assert entry is not None
    refused: list[str] = []
    return list(changes(entry, refused)), refused


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
    assert entry is not None
    assert (entry.process, entry.incarnation, entry.channel) == ("web-2", "abc123", "ticks")
    assert entry.meta == {"svc": DESCRIBED}
    assert raw.count(b"\n") == len(ops)  # a header line, then a line per event
    got, refused = read(entry)
    assert refused == []
    sent = [
        change_event(op, "ticks", "svc", 1795770000.25 + n, payload, DESCRIBED)
        for n, (op, payload) in enumerate(ops, start=1)
    ]
    # what arrives is the event sent, through its JSON form (a model as JSON data)
    expected = [event_from_json(json.loads(json.dumps(event_to_json(e)))) for e in sent]
    assert got == [Change(n, e) for n, e in enumerate(expected, start=1)]
    kinds = [c.event.kind for c in got]
    assert kinds == ["registered", "published", "published", "cleared", "closed"]
    published = got[2].event
    assert published.update == ChannelUpdate(
        "ticks",
        "svc",
        "published",
        {"label": "load", "value": 0.5, "change": None, "change_type": "neutral"},
        0,
        1795770003.25,
    )
    registered = got[0].event
    assert registered.where == "svc.py:3"
    assert registered.detail == {"kind": "producer", "validated": True, "widget": None}
    assert got[-1].event.message == "process 'web-2' closed its link"


def test_an_event_is_compact_on_the_wire() -> None:
    (n, event) = json.loads(wire_change("pub", "ticks", "svc", 7, 1.5, {"n": 1}, DESCRIBED))
    assert n == 7
    assert event == {
        "kind": "published",
        "channel": "ticks",
        "producer_id": "svc",
        "timestamp": 1.5,
        "update": {"value": {"n": 1}},  # the rest of the update is what its event says
    }
    assert event_from_json(event) == update_event(
        ChannelUpdate("ticks", "svc", "published", {"n": 1}, 0, 1.5)
    )


def test_a_string_json_cannot_carry_is_refused_when_sent() -> None:
    with pytest.raises(ValueError, match="surrogates"):
        wire_change("pub", "t", "svc", 1, 1.0, {"s": "\ud800"}, DESCRIBED)


def test_a_format_1_entry_is_refused_saying_why() -> None:
    raw = json.dumps({"v": 1, "p": "old", "i": "1", "c": "ticks", "P": {}, "u": []})
    with pytest.raises(ValueError, match="format 1 \\(an older mapstore\\)"):
        decode_entry(raw.encode(), channel="ticks")


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"\x80\x04\x95pickle", "not JSON"),
        (b"[1, 2]", "a JSON object"),
        (b'{"v": true, "p": "x", "i": "1", "c": "t", "P": {}}', "unknown entry format"),
        (b'{"v": 2, "p": "has space", "i": "1", "c": "t", "P": {}}', "process name"),
        (b'{"v": 2, "p": "x", "i": "1", "c": "other", "P": {}}', "found under"),
        (b'{"v": 2, "p": "x", "i": "1", "c": "t", "P": []}', "'P'"),
        (b'{"v": 2, "p": "x", "i": "1", "c": "t", "P": {}, "e": 2}', "events in format 2"),
        (b'{"v": 2, "p": "x", "i": "1", "c": "t", "P": {"a": [["p"], "", 1]}}', "bad"),
        (b'{"v": 2,\n"p": "x", "i": "1", "c": "t", "P": {}}', "not JSON"),  # pretty-printed
        (b"[" * 100_000 + b"]" * 100_000, "not JSON"),  # deeper than any parser goes
        (b"{" * (MAX_ENTRY_BYTES + 1), "limit"),
    ],
)
def test_a_bad_envelope_is_refused(raw: bytes, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        decode_entry(raw, channel="t")


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (b"9" * 5000, "number out of range"),  # an integer past what a parser takes whole
        (b"1e400", "out of a float's range"),  # a float infinity: JSON cannot carry it out
        (b"-" + b"9" * 400 + b".0", "out of a float's range"),
        (b'"\\ud800"', "not JSON within bounds"),  # a lone surrogate escape
        (b"[" * 300 + b"]" * 300, "not JSON within bounds"),  # nested past the bound
    ],
)
def test_a_value_out_of_bounds_costs_its_own_event_only(value: bytes, why: str) -> None:
    """Written by another sender (ours never sends such a value): refused alone, saying why."""
    line = wire_change("pub", "t", "svc", 1, 1.0, {"id": 0}, DESCRIBED)
    bad = line.replace(b'"id":0', b'"id":' + value, 1)
    raw = encode_entry("x", "1", "t", {"svc": DESCRIBED}, [bad, line.replace(b"[1,", b"[2,", 1)])
    got, refused = read(decode_entry(raw, channel="t"))
    assert len(refused) == 1 and why in refused[0]
    assert [c.event.update.value for c in got if c.event.update is not None] == [{"id": 0}]


def test_a_process_name_must_be_printable_text() -> None:
    for name in ["w\x1b[31m", "w\ud800", "a b", "x" * 129, ""]:
        with pytest.raises(ValueError, match="process name"):
            check_name(name)
    assert check_name("wörker-1") == "wörker-1"
    assert client_name("wörker-1") == "mapstore:w\\xf6rker-1"  # what Redis takes as a name


def test_a_sender_it_does_not_accept_is_skipped_before_its_events_are_read() -> None:
    raw = encode_entry("gone", "1", "t", {}, [b"not even JSON"])
    assert decode_entry(raw, channel="t", accept=lambda process, run: False) is None


def test_an_event_line_that_is_not_a_change_of_the_entry_is_refused_alone() -> None:
    good = wire_change("pub", "t", "svc", 3, 1.0, {"n": 1}, DESCRIBED)
    leaked = json.dumps([1, event_to_json(StoreEvent("leaked", "t", "svc", 1.0))]).encode()
    raw = encode_entry("x", "1", "t", {"svc": DESCRIBED}, [leaked, b"\x80 not JSON", good])
    got, refused = read(decode_entry(raw, channel="t"))
    assert [c.n for c in got] == [3]
    assert refused[0] == "a 'leaked' event does not cross a link"
    assert refused[1].startswith("not JSON")
