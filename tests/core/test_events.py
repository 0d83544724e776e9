"""Every change of a store is one event with one JSON form: event → JSON → event is equal."""

from __future__ import annotations

import json
from typing import Any, get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mapstore_core import (
    ChannelUpdate,
    Diagnostic,
    EventFormatError,
    EventKind,
    MapObjectStore,
    StoreEvent,
)
from mapstore_core._events import (
    EVENT_FIELDS,
    _event_from_json,
    compact_update_json,
    event_from_json,
    event_stub,
    event_to_json,
    update_event,
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
texts = st.text(max_size=20)
maybe_text = st.none() | texts
numbers = st.floats(0, 4e9, allow_nan=False)
seqs = st.integers(0, 2**40)


def updates(kinds: tuple[str, ...] = ("published", "cleared", "gap")) -> st.SearchStrategy[Any]:
    return st.builds(
        ChannelUpdate,
        channel=texts.filter(bool),
        producer_id=texts.filter(bool),
        kind=st.sampled_from(kinds),
        value=json_values,
        seq=seqs,
        timestamp=numbers,
        process=maybe_text,
    )


diagnostics = st.builds(
    Diagnostic,
    rule=st.sampled_from(["non-descriptive-id", "job-failed", "process-gone"]),
    severity=st.sampled_from(["error", "warning", "info"]),
    channel=texts,
    producer_id=texts,
    message=texts,
    where=texts,
    hint=texts,
)
details = st.none() | st.dictionaries(st.text(max_size=8), json_values, max_size=4)


def events_of(kind: str) -> st.SearchStrategy[StoreEvent]:
    """Events of one kind, every field drawn (each kind's own fields, and the rest too)."""
    return st.builds(
        StoreEvent,
        kind=st.just(kind),
        channel=maybe_text,
        producer_id=maybe_text,
        timestamp=numbers,
        seq=seqs,
        update=st.none() | updates(),
        process=maybe_text,
        consumer_id=maybe_text,
        consumer_serial=st.none() | st.integers(0, 2**31),
        where=maybe_text,
        message=maybe_text,
        traceback=maybe_text,
        diagnostic=st.none() | diagnostics,
        problems=st.none() | st.dictionaries(texts, texts, max_size=3),
        detail=details,
    )


@pytest.mark.parametrize("kind", get_args(EventKind))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_every_event_round_trips_through_json_and_its_keys_are_its_fields(
    kind: str, data: st.DataObject
) -> None:
    event = data.draw(events_of(kind))
    encoded = event_to_json(event)
    assert tuple(encoded) == EVENT_FIELDS  # exactly the fields, in their order
    wire = json.loads(json.dumps(encoded))
    assert event_from_json(wire) == event


@pytest.mark.parametrize("kind", get_args(EventKind))
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_the_compact_form_leaves_out_only_defaults_and_reads_back_whole(
    kind: str, data: st.DataObject
) -> None:
    """What the Redis link carries: the same form without the fields that are None (or a
    ``seq`` of 0): ``event_from_json`` reads a missing field as that."""
    event = data.draw(events_of(kind))
    full, compact = event_to_json(event), event_to_json(event, compact=True)
    assert {k for k in full if k not in compact} == {
        k for k, v in zip(EVENT_FIELDS, event, strict=True) if v is None or (k == "seq" and v == 0)
    }
    assert all(compact[k] == full[k] for k in compact if k != "update")
    assert event_from_json(json.loads(json.dumps(compact))) == event


@given(
    st.sampled_from(["published", "cleared"]),
    texts.filter(bool),
    texts.filter(bool),
    json_values,
    numbers,
)
def test_the_links_fast_builder_writes_the_general_compact_form(
    kind: str, channel: str, producer_id: str, value: Any, timestamp: float
) -> None:
    if kind == "cleared":
        value = None
    update = ChannelUpdate(channel, producer_id, kind, value, 0, timestamp)  # type: ignore[arg-type]
    general = event_to_json(update_event(update), compact=True)
    assert compact_update_json(kind, channel, producer_id, value, timestamp) == general
    assert event_from_json(json.loads(json.dumps(general))) == update_event(update)


five_keys = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["published", "cleared", "closed"]) | texts,
        "channel": texts | st.integers(),
        "producer_id": texts | st.none(),
        "timestamp": numbers | st.integers(0, 10) | st.just(float("inf")) | texts,
        "update": st.dictionaries(st.sampled_from(["value", "seq", "kind"]), json_values)
        | st.none()
        | st.lists(json_values, max_size=1),
    }
)

six_keys = st.tuples(
    five_keys
    | updates(("published", "cleared"))
    .map(update_event)
    .map(lambda e: {k: v for k, v in event_to_json(e, compact=True).items() if k != "seq"}),
    st.sampled_from(["seq", "process", "where"]),
    st.integers(-2, 5) | st.booleans() | texts | st.none(),
).map(lambda t: {**t[0], t[1]: t[2]})
"""A compact publish with its seq (what a recording holds), or with another sixth field."""


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        five_keys,
        six_keys,
        updates(("published", "cleared"))
        .map(update_event)
        .map(lambda e: event_to_json(e, compact=True)),
    )
)
def test_the_decoders_fast_path_answers_what_the_general_one_does(data: dict[str, Any]) -> None:
    """A publish or clear in compact form is read by a fast path: the same event, or refused."""
    try:
        general: StoreEvent | str = _event_from_json(data)
    except EventFormatError as exc:
        general = str(exc)
    try:
        fast: StoreEvent | str = event_from_json(data)
    except EventFormatError as exc:
        fast = str(exc)
    assert fast == general


@given(updates(("published", "cleared")))
def test_the_publish_paths_event_is_the_one_the_constructor_builds(update: ChannelUpdate) -> None:
    assert update_event(update) == StoreEvent(
        kind=update.kind,  # type: ignore[arg-type]
        channel=update.channel,
        producer_id=update.producer_id,
        timestamp=update.timestamp,
        seq=update.seq,
        update=update,
        process=update.process,
    )


def test_a_store_emits_events_whose_json_round_trips(store: MapObjectStore) -> None:
    seen: list[StoreEvent] = []
    store.subscribe_events(seen.append)
    producer = store.register_producer("metric-data", "temp")
    producer.publish({"label": "x", "value": object()})  # a value JSON cannot carry as is
    producer.close()
    assert [e.kind for e in seen] == [
        "registered",
        "diagnostic",
        "published",
        "diagnostic",
        "cleared",
        "closed",
    ]
    for event in seen:
        back = event_from_json(json.loads(json.dumps(event_to_json(event))))
        assert back.kind == event.kind and back.seq == event.seq
    published = event_from_json(json.loads(json.dumps(event_to_json(seen[2]))))
    assert published.update is not None
    assert published.update.value["value"].startswith("<object object")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ([], "an event must be an object"),
        ({"kind": "exploded", "timestamp": 1}, "unknown kind"),
        ({"kind": "published", "timestamp": "now"}, "'timestamp' must be a finite number"),
        ({"kind": "published", "timestamp": 1e400}, "'timestamp' must be a finite number"),
        ({"kind": "published", "timestamp": 1, "channel": 5}, "'channel' must be a string"),
        ({"kind": "published", "timestamp": 1, "seq": -1}, "'seq' must be an integer"),
        ({"kind": "published", "timestamp": 1, "seq": True}, "'seq' must be an integer"),
        ({"kind": "published", "timestamp": 1, "update": []}, "'update' must be an object"),
        (
            {"kind": "published", "timestamp": 1, "update": {"kind": "boom"}},
            "update kind 'boom' is unknown",
        ),
        ({"kind": "diagnostic", "timestamp": 1, "diagnostic": {"rule": 1}}, "'rule'"),
        ({"kind": "validation_failed", "timestamp": 1, "problems": {"a": 1}}, "'problems'"),
        ({"kind": "fleet", "timestamp": 1, "detail": [1]}, "'detail' must be an object"),
        ({"kind": ["published"], "timestamp": 1}, "unknown kind"),  # unhashable: no TypeError
        ({"kind": "published", "timestamp": 10**400}, "'timestamp' must be a finite number"),
        (
            {"kind": "published", "timestamp": 1, "update": {"kind": ["gap"]}},
            "update kind",
        ),
        (
            {"kind": "published", "timestamp": 1, "update": {"kind": "published", "seq": 1}},
            "'channel' is missing",
        ),
    ],
)
def test_malformed_events_are_refused_naming_the_field(data: Any, field: str) -> None:
    with pytest.raises(EventFormatError, match=field):
        event_from_json(data)


def test_a_stub_keeps_what_identifies_the_change_and_says_what_was_left_out() -> None:
    update = ChannelUpdate("c", "p", "published", {"big": "x" * 100}, 7, 1.0)
    event = update_event(update)._replace(detail={"folded": 2}, traceback="t")
    stub = event_stub(event, "too big")
    assert (stub.kind, stub.channel, stub.producer_id, stub.seq) == ("published", "c", "p", 7)
    assert stub.update is not None and stub.update.value == "<left out: too big>"
    assert stub.message == "too big" and stub.detail is None and stub.traceback is None
    cleared = update_event(update._replace(kind="cleared", value=None))
    assert event_stub(cleared, "x").update == cleared.update  # a clear stays a clear
