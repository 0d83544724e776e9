"""A mirror folded from a store's events answers exactly what the store answers.

A hypothesis state machine drives a real store with random operations (producers raw,
validated and bridged, valid and invalid publishes, clears, closes, leaks, consumers with
callbacks that raise or refuse values, new channels, linked processes' changes through the
link's port) and, after every step, asks three mirrors and the store the same questions:

- one fed the store's events in-process (values are the store's own objects);
- one fed every event through its JSON form (as an attached panel or a recording is);
- one started late, from a JSON snapshot taken in the middle, then fed JSON events;
- one that is not sent publishes (as the debug endpoint coalesces a flood) and catches up as
  the endpoint has it catch up: before it is asked, it merges a snapshot of every channel
  whose seq moved since its last catch-up.
"""

from __future__ import annotations

import json
from typing import Any, get_args

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule
from pydantic import BaseModel, ConfigDict

from mapstore_core import (
    ChannelUpdate,
    EventKind,
    JobManager,
    MapObjectStore,
    ProducerClosed,
    PublishValidationError,
    StoreEvent,
    StoreMirror,
    create_job_widget_bridge,
    create_widget_consumer,
    create_widget_publisher,
)
from mapstore_core._events import event_from_json, event_to_json
from mapstore_core._port import StorePort
from mapstore_core.plumbing import jsonable
from tests.conftest import FakeClock

CHANNELS = ["metric-data", "paragraph-content", "orders"]
IDS = ["price-service", "producer1", "temp", "feed-a", "feed-b"]
PROCESSES = ["web-1", "web-2"]
GOOD_METRIC = st.builds(dict, label=st.sampled_from(["Users", "Load"]), value=st.integers(0, 5))
BAD_METRIC = st.sampled_from([{"label": "x"}, {"value": "many"}, 42, None])
RAW = st.one_of(GOOD_METRIC, BAD_METRIC, st.integers(), st.text(max_size=3))


class Order(BaseModel):
    """A small model for the ``orders`` channel, defined mid-run."""

    model_config = ConfigDict(frozen=True)
    id: int
    """The order's number."""


def through_json(event: StoreEvent) -> StoreEvent:
    return event_from_json(json.loads(json.dumps(event_to_json(event))))


def from_json_snapshot(store: MapObjectStore) -> StoreMirror:
    return StoreMirror(json.loads(json.dumps(store.snapshot())))


# Registrations from two lines, so the doctor's duplicate-source has something to find.
def register_here(store: MapObjectStore, channel: str, pid: str) -> Any:
    return store.register_producer(channel, pid)


def register_there(store: MapObjectStore, channel: str, pid: str) -> Any:
    return store.register_producer(channel, pid)


class StoreAndMirrors(RuleBasedStateMachine):
    producers = Bundle("producers")
    consumers = Bundle("consumers")

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.store = MapObjectStore(history_size=4, clock=self.clock, churn_threshold=3)
        self.port = StorePort(self.store, self.store)
        self.jobs = JobManager()
        self.live = StoreMirror(self.store.snapshot())
        self.store.subscribe_events(self.live.apply)
        self.wire = from_json_snapshot(self.store)
        self.store.subscribe_events(lambda event: self.wire.apply(through_json(event)))
        self.late: StoreMirror | None = None
        self.coalesced = from_json_snapshot(self.store)
        self.told = self.store.channel_seqs()
        self.store.subscribe_events(
            lambda event: self.coalesced.apply(through_json(event)),
            kinds=[k for k in get_args(EventKind) if k != "published"],
        )
        self.remote: dict[tuple[str, str, str], bool] = {}  # (process, channel, id) -> holds
        self.handles: list[Any] = []  # kept alive until a rule drops one

    # -- producers ---------------------------------------------------------------------

    @rule(
        target=producers,
        channel=st.sampled_from(CHANNELS),
        pid=st.sampled_from(IDS),
        how=st.sampled_from(["here", "there", "validated"]),
    )
    def register(self, channel: str, pid: str, how: str) -> Any:
        self.clock.advance(0.1)
        try:
            if how == "validated":
                if self.store.schema(channel) is None:
                    return None
                handle = create_widget_publisher(channel, pid, store=self.store)
            elif how == "here":
                handle = register_here(self.store, channel, pid)
            else:
                handle = register_there(self.store, channel, pid)
        except Exception as exc:  # an id already open there
            assert type(exc).__name__ == "ProducerAlreadyRegistered"
            return None
        self.handles.append(handle)
        return handle

    @rule(target=producers, fail=st.booleans())
    def bridge(self, fail: bool) -> Any:
        job = self.jobs.create("summarize")
        bridge = create_job_widget_bridge(
            job, "paragraph-content", jobs=self.jobs, store=self.store
        )
        if fail:
            self.jobs.fail(job, error="the model timed out")
        else:
            self.jobs.complete(job, result="a summary")
        self.handles.append(bridge)
        return bridge.producer

    @rule(producer=producers, payload=RAW)
    def publish(self, producer: Any, payload: Any) -> None:
        if producer is None:
            return
        self.clock.advance(0.01)
        try:
            producer.publish(payload)
        except (PublishValidationError, ProducerClosed):
            pass

    @rule(producer=producers)
    def clear(self, producer: Any) -> None:
        if producer is None:
            return
        try:
            producer.clear()
        except ProducerClosed:
            pass

    @rule(producer=consumes(producers))
    def close(self, producer: Any) -> None:
        if producer is not None:
            producer.close()

    @rule(channel=st.sampled_from(CHANNELS), payload=RAW)
    def leak(self, channel: str, payload: Any) -> None:
        """A producer whose only handle is dropped unclosed (its value stays)."""
        try:
            handle = self.store.register_producer(channel, "forgotten-feed")
        except Exception as exc:  # one is open there already
            assert type(exc).__name__ == "ProducerAlreadyRegistered"
            return
        handle.publish(payload)
        del handle  # the last reference: collected now

    # -- consumers ---------------------------------------------------------------------

    @rule(
        target=consumers,
        channel=st.sampled_from(CHANNELS),
        widget=st.booleans(),
        callback=st.sampled_from(["none", "quiet", "quiet", "raises"]),
    )
    def consume(self, channel: str, widget: bool, callback: str) -> Any:
        def quiet(update: ChannelUpdate) -> None:
            pass

        def raises(update: ChannelUpdate) -> None:
            raise RuntimeError("the widget broke")

        fn = {"none": None, "quiet": quiet, "raises": raises}[callback]
        if widget:
            if self.store.schema(channel) is None:
                return None
            return create_widget_consumer(channel, "card", store=self.store, callback=fn)
        return self.store.register_consumer(channel, "reader", fn)

    @rule(consumer=consumers)
    def subscribe_another(self, consumer: Any) -> None:
        if consumer is not None and not consumer.closed:
            unsubscribe = consumer.subscribe(lambda update: None)
            self.handles.append(unsubscribe)

    @rule()
    def unsubscribe_one(self) -> None:
        for index, handle in enumerate(self.handles):
            if callable(handle) and not hasattr(handle, "publish"):
                handle()
                del self.handles[index]
                return

    @rule(consumer=consumes(consumers))
    def close_consumer(self, consumer: Any) -> None:
        if consumer is not None:
            consumer.close()

    # -- channels, linked processes, joiners -------------------------------------------

    @rule()
    def define_orders(self) -> None:
        if self.store.schema("orders") is None:
            self.store.define_channel("orders", Order)

    @rule(
        process=st.sampled_from(PROCESSES),
        channel=st.sampled_from(CHANNELS),
        pid=st.sampled_from(IDS[:2]),
        op=st.sampled_from(["registered", "published", "cleared", "closed", "link_dropped"]),
        payload=RAW,
    )
    def remote(self, process: str, channel: str, pid: str, op: str, payload: Any) -> None:
        """A linked process's change, applied as the link applies it (through the port)."""
        key = (process, channel, pid)
        if op != "registered" and key not in self.remote:
            op = "registered"
        update = None
        if op == "published":
            update = ChannelUpdate(channel, pid, "published", payload, 0, 0.0, process)
        elif op == "link_dropped":
            update = ChannelUpdate(channel, pid, "gap", {"skipped": 2}, 0, 0.0, process)
        detail = {"kind": "producer", "validated": False, "widget": None}
        event = StoreEvent(
            op,  # type: ignore[arg-type]
            channel,
            pid,
            0.0,
            process=process,
            update=update,
            where="remote.py:1",
            detail=detail if op == "registered" else None,
        )
        outcome = self.port.apply(event)
        if op == "registered":
            self.remote[key] = True
        elif op == "closed":
            del self.remote[key]
        assert outcome in ("applied", "rejected", "unknown")

    @rule()
    def a_late_joiner(self) -> None:
        late = from_json_snapshot(self.store)
        self.store.subscribe_events(lambda event: late.apply(through_json(event)))
        self.late = late

    @rule(seconds=st.sampled_from([0.05, 2.0]))
    def time_passes(self, seconds: float) -> None:
        self.clock.advance(seconds)

    # -- the same answers ----------------------------------------------------------------

    @invariant()
    def mirrors_answer_what_the_store_answers(self) -> None:
        store = self.store
        now = store.channel_seqs()
        behind = [name for name, seq in now.items() if self.told.get(name) != seq]
        if behind:
            merged = self.coalesced.merge(json.loads(json.dumps(store.snapshot(channels=behind))))
            assert merged == behind
        self.told = now
        producers = store.producers()  # first: it reports leaks the collector found
        diagnostics = store.diagnostics()
        snapshot = store.snapshot()
        channels = store.channels()
        consumers = store.consumers()
        log = store.log_producers()
        for mirror in (self.live, self.wire, self.late, self.coalesced):
            if mirror is None:
                continue
            same_objects = mirror is self.live
            assert mirror.producers() == producers
            assert mirror.consumers() == consumers
            assert mirror.channels() == channels
            assert mirror.log_producers() == log
            assert mirror.diagnostics() == diagnostics
            assert mirror.snapshot() == snapshot
            for channel in [c.name for c in channels]:
                history, values, newest = (
                    store.history(channel),
                    store.values(channel),
                    store.get(channel),
                )
                if same_objects:
                    assert mirror.history(channel) == history
                    assert mirror.values(channel) == values
                    assert mirror.get(channel) == newest
                else:
                    assert [
                        {**u._asdict(), "value": jsonable(u.value)} for u in mirror.history(channel)
                    ] == [{**u._asdict(), "value": jsonable(u.value)} for u in history]
                    assert jsonable(mirror.values(channel)) == jsonable(values)
                    assert jsonable(mirror.get(channel)) == jsonable(newest)


StoreAndMirrors.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
test_a_mirror_answers_what_the_store_answers = StoreAndMirrors.TestCase


def test_a_local_and_a_remote_producer_leave_the_same_state() -> None:
    """The same publishes, made here and received from a linked process, are booked alike."""
    clocks = FakeClock(), FakeClock()
    here = MapObjectStore(history_size=3, clock=clocks[0])
    there = MapObjectStore(history_size=3, clock=clocks[1])
    port = StorePort(there, there)
    seen: dict[str, list[Any]] = {"here": [], "there": []}
    for store, name in ((here, "here"), (there, "there")):
        store.register_consumer("ticks", "card", seen[name].append)
    local = here.register_producer("ticks", "price-service")
    port.apply(
        StoreEvent(
            "registered",
            "ticks",
            "price-service",
            0.0,
            process="web-2",
            where=local.registered_at,
            detail={"kind": "producer", "validated": False, "widget": None},
        )
    )
    for payload in ({"n": 1}, {"n": 2}, [3]):
        for clock in clocks:
            clock.advance(1.0)
        local.publish(payload)
        update = ChannelUpdate("ticks", "price-service", "published", payload, 0, 0.0, "web-2")
        event = StoreEvent(
            "published", "ticks", "price-service", 0.0, process="web-2", update=update
        )
        assert port.apply(event) == "applied"
    local.clear()
    port.apply(StoreEvent("cleared", "ticks", "price-service", 0.0, process="web-2"))

    def without_process(infos: list[Any]) -> list[Any]:
        return [info.to_dict() | {"process": None, "value_seq": None} for info in infos]

    assert without_process(there.producers()) == without_process(here.producers())
    assert there.consumers() == here.consumers()
    assert [c.to_dict() for c in there.channels()] == [c.to_dict() for c in here.channels()]
    assert [(u.kind, u.value) for u in there.history("ticks")] == [
        (u.kind, u.value) for u in here.history("ticks")
    ]
    assert [u.value for u in seen["there"]] == [u.value for u in seen["here"]]
