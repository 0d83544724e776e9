"""The decoder accepts JSON objects with a type and refuses everything else, cleanly."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mapstore_core import DebugProtocolError, StoreEvent
from mapstore_core._events import event_to_json
from mapstore_core.debug import _wire
from mapstore_core.debug._wire import (
    MAX_MESSAGE_BYTES,
    Assembler,
    answer_parts,
    bounded_snapshot,
    decode,
    encode,
    event_from_dict,
    loads,
    snapshot_parts,
    split,
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**50), max_value=10**50)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_decode_or_raise_protocol_error(data: bytes) -> None:
    try:
        message = decode(data)
    except DebugProtocolError:
        return
    assert isinstance(message, dict) and isinstance(message["type"], str)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_arbitrary_json_decodes_only_as_typed_objects(value: object) -> None:
    line = json.dumps(value).encode()
    try:
        message = decode(line)
    except DebugProtocolError:
        assert not (isinstance(value, dict) and isinstance(value.get("type"), str))
        return
    assert message == value


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(), json_values, max_size=5), st.text(min_size=1))
def test_round_trip(fields: dict[str, object], kind: str) -> None:
    message = {**fields, "type": kind}
    assert decode(encode(message)) == message


def test_limits_and_constants() -> None:
    with pytest.raises(DebugProtocolError, match="limit"):
        decode(b'{"type":"x","pad":"' + b"a" * MAX_MESSAGE_BYTES + b'"}')
    with pytest.raises(DebugProtocolError, match="limit"):
        encode({"type": "x", "pad": "a" * MAX_MESSAGE_BYTES})
    with pytest.raises(DebugProtocolError, match="not JSON data"):
        encode({"type": "x", "v": float("inf")})
    with pytest.raises(DebugProtocolError, match="NaN is not valid JSON"):
        decode(b'{"type":"x","v":NaN}')
    with pytest.raises(DebugProtocolError, match="nested too deeply"):
        decode(b'{"type":"x","v":' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    with pytest.raises(DebugProtocolError, match="malformed event"):
        event_from_dict({"kind": "published"})


def test_validation_problems_cross_the_wire_as_data() -> None:
    event = StoreEvent(
        "validation_failed",
        "metric-data",
        "polling-service",
        1.0,
        message="invalid",
        problems={"change_type": "Input should be 'increase'"},
    )
    line = encode({"type": "event", "event": event_to_json(event)})
    assert event_from_dict(decode(line)["event"]) == event
    with pytest.raises(DebugProtocolError):
        event_from_dict({**event_to_json(event), "problems": {"field": 3}})


any_text = st.text(  # lone surrogates too, often
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, exclude_categories=())
    | st.characters()
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(any_text, any_text, max_size=4), any_text)
def test_any_text_is_sent_and_lone_surrogates_arrive_visible(
    fields: dict[str, str], text: str
) -> None:
    message = {**fields, "type": "x", "text": text}
    received = decode(encode(message))

    def visible(value: str) -> str:
        return "".join(f"\\u{ord(c):04x}" if 0xD800 <= ord(c) <= 0xDFFF else c for c in value)

    assert received["text"] == visible(text)
    assert received == {visible(k): visible(v) for k, v in message.items()}


def test_huge_numbers_are_refused() -> None:
    with pytest.raises(DebugProtocolError, match="5,001 digits"):
        decode(b'{"type":"x","id":1' + b"0" * 5_000 + b"}")
    with pytest.raises(DebugProtocolError, match="not accepted"):
        decode(b'{"type":"x","v":1e400}')
    assert decode(b'{"type":"x","v":' + b"9" * 100 + b"}")["v"] == int("9" * 100)


def test_a_large_answer_goes_in_parts_each_under_the_limit() -> None:
    result = {"rows": ['\u00e9"' * 300_000, "\U0001f4e4" * 300_000]}
    parts = list(answer_parts(3, result))
    assert len(parts) > 1
    lines = [encode(part) for part in parts]  # each one fits the message limit
    assert all(len(line) <= MAX_MESSAGE_BYTES for line in lines)
    assert [p["part"] for p in parts] == list(range(len(parts)))
    assert loads("".join(p["data"] for p in parts)) == result
    assert list(answer_parts(4, [1, 2])) == [{"type": "response", "id": 4, "result": [1, 2]}]


def test_a_state_over_the_limit_comes_in_parts_with_huge_values_as_stubs() -> None:
    big = "x" * (MAX_MESSAGE_BYTES + 10)
    snapshot = {
        "channels": [{"name": "blobs"}],
        "values": {"blobs": {"feed": big, "small": 1}},
        "history": {"blobs": [{"seq": 1, "value": big}, {"seq": 2, "value": "y" * 300_000}]},
    }
    parts = list(snapshot_parts("state", snapshot))
    assert all(len(encode(part)) <= MAX_MESSAGE_BYTES for part in parts)
    assert [p["part"] for p in parts] == list(range(len(parts))) and parts[0]["type"] == "state"
    whole = loads("".join(p["data"] for p in parts))
    stub = f"<left out: a value of {MAX_MESSAGE_BYTES + 12:,} bytes, over the 1,048,576-byte limit>"
    assert whole["values"] == {"blobs": {"feed": stub, "small": 1}}
    assert [u["value"] for u in whole["history"]["blobs"]] == [stub, "y" * 300_000]
    assert snapshot["values"]["blobs"]["feed"] is big  # the snapshot given is left alone
    assert list(snapshot_parts("sync", {"values": {}})) == [
        {"type": "sync", "snapshot": {"values": {}}}
    ]


def test_a_state_over_its_cap_leaves_out_history_values_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_wire, "MAX_STATE_BYTES", 2_000_000)
    snapshot = {
        "values": {"c": {"feed": "v" * 900_000}},
        "history": {"c": [{"value": "a" * 800_000}, {"value": "b" * 900_000}]},
    }
    bounded, stubbed = bounded_snapshot(snapshot)
    assert stubbed == 1  # the largest history value is enough
    assert bounded["values"]["c"]["feed"] == "v" * 900_000  # the current value is kept
    assert bounded["history"]["c"][0]["value"] == "a" * 800_000
    assert bounded["history"]["c"][1]["value"] == (
        "<left out: a value of 900,002 bytes, left out so the state fits 2,000,000 bytes>"
    )


def test_parts_are_joined_in_order_or_refused() -> None:
    parts = list(split({"type": "state"}, '"' + "z" * 450_000 + '"'))
    joiner = Assembler()
    assert [joiner.add("state", part) for part in parts] == [(False, None)] * (len(parts) - 1) + [
        (True, "z" * 450_000)
    ]
    with pytest.raises(DebugProtocolError, match="out of order"):
        Assembler().add("state", parts[1])
    with pytest.raises(DebugProtocolError, match="malformed part"):
        Assembler().add("state", {"type": "state", "part": "0", "parts": 2, "data": ""})
    small = Assembler(limit=10)
    with pytest.raises(DebugProtocolError, match="over the size limit"):
        small.add("state", {"type": "state", "part": 0, "parts": 2, "data": "a" * 11})
