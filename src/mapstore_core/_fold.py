"""The one fold: a store's state from a snapshot, then event by event.

``fold(state, event)`` applies one ``StoreEvent`` to a ``StoreState`` through the same
bookkeeping methods the store itself uses (``_state``), so a mirror fed a store's events
answers every read as the store does; the store applies the changes of linked processes with
it too. ``load_state(snapshot)`` rebuilds the state a ``store.snapshot()`` describes.

Events from another process may be hostile: an event about a producer or consumer the state
does not hold is skipped (reported by ``fold``'s result), never a crash, and a malformed
snapshot raises ``EventFormatError``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any, cast

from mapstore_core._doctor import ChurnTracker
from mapstore_core._errors import EventFormatError
from mapstore_core._events import StoreEvent, diagnostic_from_json, update_from_json
from mapstore_core._records import Diagnostic, ProcessInfo, ProducerKind
from mapstore_core._state import ChannelState, ConsumerState, ProducerState, StoreState

__all__ = ["fold", "load_state", "merge_state", "producer_from_event", "stale"]

_KINDS: frozenset[str] = frozenset({"producer", "bridge"})


def stale(state: StoreState, event: StoreEvent) -> bool:
    """Whether ``event`` changes a channel this state already holds past it (a re-send)."""
    if not event.seq or event.channel is None or not _changes_channel(event):
        return False
    channel = state.channels.get(event.channel)
    return channel is not None and event.seq <= channel.seq


def _changes_channel(event: StoreEvent) -> bool:
    kind = event.kind
    if kind == "validation_failed":
        return event.consumer_serial is not None
    if kind == "link_dropped":
        return event.update is not None
    return kind not in ("diagnostic", "link_status", "fleet", "marker", "gap")


def fold(state: StoreState, event: StoreEvent) -> bool:
    """Apply ``event`` to ``state``; False when it was skipped (stale, or names nothing held)."""
    handler = _HANDLERS.get(event.kind)
    if handler is None:
        return True  # it only tells (a diagnostic, a link's status)
    if stale(state, event):
        return False
    done = handler(state, event)
    state.saw_seq(event.seq)
    return done


# -- producers -----------------------------------------------------------------------------


def producer_from_event(channel: ChannelState, event: StoreEvent) -> ProducerState:
    """The producer a ``registered`` event describes (not yet added to its channel)."""
    detail = event.detail or {}
    kind = detail.get("kind")
    widget = detail.get("widget")
    return ProducerState(
        channel,
        event.producer_id or "",
        cast(ProducerKind, kind if kind in _KINDS else "producer"),
        event.where or "",
        validated=detail.get("validated") is True,
        widget=widget if isinstance(widget, str) else None,
        process=event.process,
    )


def _registered(state: StoreState, event: StoreEvent) -> bool:
    if event.channel is None or not event.producer_id:
        return False
    channel = state.channel(event.channel)
    order = (event.detail or {}).get("order")
    with channel.lock:
        if channel.find(event.producer_id, event.process) is not None:
            return False
        producer = producer_from_event(channel, event)
        channel.add_producer(producer, order if type(order) is int else None)
        channel.seq = max(channel.seq, event.seq)
    if event.process is None:
        with state.lock:
            state.churn.note(producer.registered_at, channel.name, producer.id, event.timestamp)
    return True


def _held(state: StoreState, event: StoreEvent) -> tuple[ChannelState, ProducerState] | None:
    if event.channel is None or event.producer_id is None:
        return None
    channel = state.channels.get(event.channel)
    if channel is None:
        return None
    producer = channel.find(event.producer_id, event.process)
    return None if producer is None else (channel, producer)


def _published(state: StoreState, event: StoreEvent) -> bool:
    update = event.update
    found = _held(state, event)
    if found is None or update is None:
        return False
    channel, producer = found
    folded = (event.detail or {}).get("folded")
    with channel.lock:
        channel.publish(producer, update, update.value, update.seq, update.timestamp)
        if type(folded) is int and folded > 0:
            channel.folded(producer, folded)
        channel.delivered()
    return True


def _cleared(state: StoreState, event: StoreEvent) -> bool:
    update = event.update
    found = _held(state, event)
    if found is None or update is None:
        return False
    channel, producer = found
    with channel.lock:
        if producer.has_value:
            channel.clear(producer, update)
            channel.delivered()
        channel.seq = max(channel.seq, update.seq)
    return True


def _producer(
    state: StoreState, event: StoreEvent, change: Callable[[ChannelState, ProducerState], None]
) -> bool:
    """Apply ``change`` to the producer an event names, under its channel's lock."""
    found = _held(state, event)
    if found is None:
        return False
    channel, producer = found
    with channel.lock:
        change(channel, producer)
        channel.seq = max(channel.seq, event.seq)
    return True


def _closed(state: StoreState, event: StoreEvent) -> bool:
    return _producer(state, event, ChannelState.remove_producer)


def _leaked(state: StoreState, event: StoreEvent) -> bool:
    return _producer(state, event, ChannelState.leaked)


def _job_failed(state: StoreState, event: StoreEvent) -> bool:
    error = event.message or "unknown error"
    return _producer(state, event, lambda channel, producer: channel.job_failed(producer, error))


# -- consumers -----------------------------------------------------------------------------


def _consumer(
    state: StoreState, event: StoreEvent, change: Callable[[ChannelState, ConsumerState], None]
) -> bool:
    if event.channel is None:
        return False
    channel = state.channels.get(event.channel)
    if channel is None:
        return False
    with channel.lock:
        consumer = channel.consumer(event.consumer_serial)
        if consumer is None:
            return False
        change(channel, consumer)
        channel.seq = max(channel.seq, event.seq)
    return True


def _consumer_registered(state: StoreState, event: StoreEvent) -> bool:
    if event.channel is None or event.consumer_serial is None:
        return False
    channel = state.channel(event.channel)
    model = (event.detail or {}).get("model")
    with channel.lock:
        if channel.consumer(event.consumer_serial) is not None:
            return False
        consumer = ConsumerState(
            channel,
            event.consumer_id or "",
            event.where or "",
            None,
            serial=event.consumer_serial,
            model_name=model if isinstance(model, str) else None,
        )
        channel.add_consumer(consumer)
        channel.seq = max(channel.seq, event.seq)
    return True


def _rejected(state: StoreState, event: StoreEvent) -> bool:
    if event.consumer_serial is None:
        return True  # a producer's payload refused: nothing changed

    def taken_back(_channel: ChannelState, consumer: ConsumerState) -> None:
        consumer.delivered -= 1  # a widget consumer skipped a value it had been counted for

    return _consumer(state, event, taken_back)


def _consumer_error(state: StoreState, event: StoreEvent) -> bool:
    def failed(_channel: ChannelState, consumer: ConsumerState) -> None:
        consumer.errors += 1

    return _consumer(state, event, failed)


def _consumer_closed(state: StoreState, event: StoreEvent) -> bool:
    return _consumer(state, event, ChannelState.remove_consumer)


def _subscribed(state: StoreState, event: StoreEvent) -> bool:
    delta = 1 if event.kind == "consumer_subscribed" else -1
    return _consumer(state, event, lambda channel, consumer: channel.subscribed(consumer, delta))


# -- channels, links, the fleet --------------------------------------------------------------


def _channel_defined(state: StoreState, event: StoreEvent) -> bool:
    detail = event.detail or {}
    model, schema = detail.get("model"), detail.get("schema")
    if event.channel is None or not isinstance(model, str):
        return False
    channel = state.channel(event.channel)
    with channel.lock:
        channel.define(model, schema if isinstance(schema, dict) else None)
        channel.seq = max(channel.seq, event.seq)
    return True


def _link_dropped(state: StoreState, event: StoreEvent) -> bool:
    update = event.update
    if update is None or event.channel is None:
        return True  # a link's news: nothing changed here
    channel = state.channel(event.channel)
    with channel.lock:
        channel.gap(update)
    return True


def _fleet(state: StoreState, event: StoreEvent) -> bool:
    detail = event.detail or {}
    processes: list[ProcessInfo] = []
    for item in detail.get("processes") or []:
        try:
            processes.append(ProcessInfo.from_dict(item))
        except ValueError:
            continue
    findings: list[Diagnostic] = []
    for item in detail.get("findings") or []:
        try:
            findings.append(diagnostic_from_json(item))
        except EventFormatError:
            continue
    with state.lock:
        state.linked = detail.get("linked") is True
        state.fleet_processes = processes
        state.fleet_findings = findings
        state.generation += 1
    return True


_HANDLERS: dict[str, Callable[[StoreState, StoreEvent], bool]] = {
    "registered": _registered,
    "published": _published,
    "cleared": _cleared,
    "closed": _closed,
    "leaked": _leaked,
    "job_failed": _job_failed,
    "validation_failed": _rejected,
    "consumer_error": _consumer_error,
    "consumer_registered": _consumer_registered,
    "consumer_closed": _consumer_closed,
    "consumer_subscribed": _subscribed,
    "consumer_unsubscribed": _subscribed,
    "channel_defined": _channel_defined,
    "link_dropped": _link_dropped,
    "fleet": _fleet,
}


# -- from a snapshot -----------------------------------------------------------------------


def load_state(snapshot: Any) -> StoreState:
    """The state a ``store.snapshot()`` (JSON data, perhaps from another process) describes.

    Raises:
        EventFormatError: not a snapshot of a version this mapstore reads, or malformed.
    """
    data = _checked(snapshot)
    try:
        churn = ChurnTracker.from_json(data["churn"])
        state = StoreState(_int(data["config"]["history_size"]), churn.threshold, churn.window)
        state.churn = churn
        _load_channels(state, data)
        _load_globals(state, data)
    except EventFormatError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise EventFormatError(f"malformed snapshot: {type(exc).__name__}: {exc}") from exc
    return state


def merge_state(state: StoreState, snapshot: Any) -> list[str]:
    """Replace the channels a (partial) snapshot describes; return their names.

    For a mirror that missed some changes (a publisher's flood it was not sent event by
    event): ``store.snapshot(channels=[...])`` brings those channels up to date whole. Events
    already reflected in it are stale afterwards (``fold`` skips them by their seq).

    Raises:
        EventFormatError: not a snapshot of a version this mapstore reads, or malformed.
    """
    data = _checked(snapshot)
    try:
        fresh = StoreState(state.history_size, state.churn.threshold, state.churn.window)
        fresh.orders = state.orders
        names = _load_channels(fresh, data)
        with state.lock:
            for name in names:
                state.channels[name] = fresh.channels[name]
                state.channels[name].owner = state
        _load_globals(state, data)
    except EventFormatError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise EventFormatError(f"malformed snapshot: {type(exc).__name__}: {exc}") from exc
    return names


def _checked(snapshot: Any) -> dict[str, Any]:
    from mapstore_core._reads import SNAPSHOT_VERSION

    if not isinstance(snapshot, dict):
        raise EventFormatError("a snapshot must be an object")
    version = snapshot.get("version")
    if version != SNAPSHOT_VERSION:
        raise EventFormatError(
            f"snapshot version {str(version)[:20]} is not {SNAPSHOT_VERSION}, the one this "
            "mapstore reads (a mirror starts only from a version-2 store.snapshot())"
        )
    return snapshot


def _load_globals(state: StoreState, data: dict[str, Any]) -> None:
    with state.lock:
        state.churn = ChurnTracker.from_json(data["churn"])
    fleet = data.get("fleet")
    if isinstance(fleet, dict):
        _fleet(state, StoreEvent("fleet", None, None, 0.0, detail=fleet))
    state.saw_seq(_int(data["seq"]))
    state.generation += 1


def _load_channels(state: StoreState, data: dict[str, Any]) -> list[str]:
    """Build the channels ``data`` describes into ``state``; return their names."""
    extra: dict[str, Any] = data.get("channel_state") or {}
    names: list[str] = []
    orders = [0]
    for info in data["channels"]:
        name = _str(info["name"])
        names.append(name)
        channel = state.channel(name)
        more = extra.get(name) or {}
        if info.get("schema") is not None:
            schema = more.get("schema")
            channel.define(_str(info["schema"]), schema if isinstance(schema, dict) else None)
        channel.publish_count = _int(info["publish_count"])
        channel.last_update = _float(info["last_update"])
        order = more.get("order")
        channel.first_producer_order = order if type(order) is int else None
        if channel.first_producer_order is not None:
            orders.append(channel.first_producer_order + 1)
        channel.seq = _int(more.get("seq") or 0)
    state.orders = itertools.count(max(max(orders), next(state.orders)))
    values: dict[str, Any] = data.get("values") or {}
    holders: list[tuple[int, ChannelState, ProducerState]] = []
    for info in data["producers"]:
        channel = state.channel(_str(info["channel"]))
        event = StoreEvent(
            "registered",
            channel.name,
            _str(info["id"]),
            0.0,
            process=info.get("process"),
            where=_str(info["registered_at"]),
            detail={"kind": info["kind"], "validated": info["validated"], "widget": info["widget"]},
        )
        producer = producer_from_event(channel, event)
        producer.publish_count = _int(info["publish_count"])
        producer.last_publish = _float(info["last_publish"])
        producer.leaked = info.get("leaked") is True
        error = info.get("job_error")
        producer.job_error = error if isinstance(error, str) else None
        if producer.process is None:
            channel.producers[producer.id] = producer
            if producer.kind == "producer":
                channel.sites.setdefault(producer.registered_at, {})[producer] = None
        else:
            channel.remote[producer.key] = producer
        if info.get("has_value") is True:
            held = values.get(channel.name) or {}
            producer.value = held.get(producer.key)
            producer.has_value = True
            producer.value_seq = _int(info.get("value_seq") or 0)
            holders.append((producer.value_seq, channel, producer))
    for _seq, channel, producer in sorted(holders, key=lambda item: item[0]):
        channel.holders[producer] = None
    for info in data["consumers"]:
        channel = state.channel(_str(info["channel"]))
        model = info.get("model")
        consumer = ConsumerState(
            channel,
            _str(info["id"]),
            _str(info["registered_at"]),
            None,
            serial=_int(info["serial"]),
            model_name=model if isinstance(model, str) else None,
        )
        consumer.delivered = _int(info["delivered"])
        consumer.errors = _int(info["errors"])
        consumer.subscribers = _int(info["subscribers"])
        channel.consumers.append(consumer)
    for name in names:
        state.channels[name].rebuild_targets()
    for name, updates in (data.get("history") or {}).items():
        channel = state.channel(_str(name))
        for update in updates:
            channel.history.append(update_from_json(update))
    return names


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise EventFormatError(f"expected a string, not {type(value).__name__}")
    return value


def _int(value: Any) -> int:
    if type(value) is not int:
        raise EventFormatError(f"expected an integer, not {type(value).__name__}")
    return value


def _float(value: Any) -> float | None:
    if value is None:
        return None
    if type(value) not in (int, float):
        raise EventFormatError(f"expected a number, not {type(value).__name__}")
    return float(value)
