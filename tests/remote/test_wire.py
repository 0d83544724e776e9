"""The decoder accepts JSON objects with a type and refuses everything else, cleanly."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mapstore_core import DebugProtocolError, StoreEvent
from mapstore_core.remote._wire import (
    MAX_MESSAGE_BYTES,
    decode,
    encode,
    event_from_dict,
    event_to_dict,
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
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
    line = encode({"type": "event", "event": event_to_dict(event)})
    assert event_from_dict(decode(line)["event"]) == event
    with pytest.raises(DebugProtocolError):
        event_from_dict({**event_to_dict(event), "problems": {"field": 3}})
