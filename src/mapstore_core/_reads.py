"""``StoreReads``: a store's read API, answered from a ``StoreState``.

``MapObjectStore`` and ``StoreMirror`` both inherit it, so a mirror (a panel in another
process, a recording) answers each read with the very code the store answers it with: only
the state differs, and the mirror's is folded from the store's events. Reads change nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Any

from mapstore_core import _doctor
from mapstore_core._jsonable import jsonable
from mapstore_core._logtext import format_log_producers
from mapstore_core._names import channel_name
from mapstore_core._records import (
    ChannelInfo,
    ChannelUpdate,
    ConsumerInfo,
    Diagnostic,
    ProcessInfo,
    ProducerInfo,
)
from mapstore_core._state import ChannelState, ConsumerState, ProducerState, StoreState

__all__ = ["SNAPSHOT_VERSION", "StoreReads", "producer_fact", "update_to_json"]

SNAPSHOT_VERSION = 2
"""Version 2 added what a mirror needs to start from a snapshot (history, orders, churn)."""

_new_tuple = tuple.__new__


def update_to_json(update: ChannelUpdate) -> dict[str, Any]:
    """An update as JSON data (its value dumped)."""
    data = update._asdict()
    data["value"] = jsonable(update.value)
    return data


class StoreReads:
    """The read API shared by a store and its mirrors (see the module docstring)."""

    _state: StoreState

    def _selected(self, channel: str | Enum | None) -> list[ChannelState]:
        if channel is None:
            return self._state.existing()
        found = self._state.channels.get(channel_name(channel))
        return [] if found is None else [found]

    def _find(self, channel: str | Enum) -> ChannelState | None:
        return self._state.channels.get(channel_name(channel))

    def get(self, channel: str | Enum) -> Any:
        """The newest value among the channel's producers that hold one, or None."""
        state = self._find(channel)
        if state is None:
            return None
        with state.lock:
            return state.latest_value()

    def values(self, channel: str | Enum) -> dict[str, Any]:
        """``{producer_id: payload}`` of producers holding a value, in registration order.

        Local producers come first; those of linked processes follow, keyed
        ``"<id>@<process>"``.
        """
        state = self._find(channel)
        if state is None:
            return {}
        with state.lock:
            out = {p.id: p.value for p in state.producers.values() if p.has_value}
            if state.remote:
                out.update((p.key, p.value) for p in state.remote.values() if p.has_value)
            return out

    def history(self, channel: str | Enum) -> list[ChannelUpdate]:
        """Past updates of the channel (publishes and clears), oldest first, bounded."""
        state = self._find(channel)
        if state is None:
            return []
        with state.lock:
            return list(state.history)

    def channels(self) -> list[ChannelInfo]:
        """Every channel the store has seen, in the order it first saw them."""
        out = []
        for state in self._state.existing():
            with state.lock:
                out.append(_channel_info(state))
        return out

    def producers(self, channel: str | Enum | None = None) -> list[ProducerInfo]:
        """Open producers, by channel then registration order; one channel's if given."""
        out: list[ProducerInfo] = []
        for state in self._selected(channel):
            with state.lock:
                out.extend(_producer_info(state, p) for p in state.all_producers())
        return out

    def consumers(self, channel: str | Enum | None = None) -> list[ConsumerInfo]:
        """Open consumers, by channel then registration order; one channel's if given."""
        out: list[ConsumerInfo] = []
        for state in self._selected(channel):
            with state.lock:
                out.extend(_consumer_info(state, c) for c in state.consumers)
        return out

    def json_schema(self, channel: str | Enum) -> dict[str, Any] | None:
        """The JSON schema of the channel's model, or None for a raw channel."""
        state = self._find(channel)
        if state is None:
            return None
        with state.lock:
            if state.json_schema is None and state.model is not None:
                state.json_schema = state.model.model_json_schema(by_alias=False)
            return state.json_schema

    def log_producers(self, channel: str | Enum | None = None) -> str:
        """The "Log Producers" debug text: open producers (docs/log-producers.md)."""
        blocks = []
        for state in self._selected(channel):
            with state.lock:
                if (state.producers or state.remote) and state.first_producer_order is not None:
                    producers: list[tuple[str, str]] = [
                        (p.id, p.kind) for p in state.producers.values()
                    ]
                    producers += [(p.id, f"{p.kind} @ {p.process}") for p in state.remote.values()]
                    blocks.append((state.first_producer_order, state.name, producers))
        blocks.sort(key=lambda block: block[0])
        return format_log_producers([(name, producers) for _, name, producers in blocks])

    def processes(self) -> list[ProcessInfo]:
        """The processes of the linked namespace (empty when the store is not linked).

        Name, host, pid, program, heartbeat age (Redis's clock), alive or gone (a gone one
        stays listed for 10 minutes, with its producers' last values marked stale), its
        producers and consumers, publish rate, link drops and schema fingerprints; as the
        link last read them (at every heartbeat).
        """
        with self._state.lock:
            return list(self._state.fleet_processes)

    def diagnostics(self) -> list[Diagnostic]:
        """Run the doctor: every current breach of the registration guide.

        Reading changes nothing: a finding is told as a ``diagnostic`` event when the change
        that causes it happens, not when somebody asks.
        """
        state = self._state
        cached = state.diag_cache
        generation = state.generation
        if cached is None or cached[0] != generation:
            channels = state.existing()
            names = {c.name for c in channels}
            with state.lock:
                churn = state.churn.for_channels(names)
            cached = state.diag_cache = (generation, _doctor.diagnose(_facts(channels), churn))
        with state.lock:
            fleet = list(state.fleet_findings)
        return [*cached[1], *fleet]

    def channel_seqs(self) -> dict[str, int]:
        """Each channel's ``seq`` of its last change: what a copy of it must be up to."""
        return {channel.name: channel.seq for channel in self._state.existing()}

    def snapshot(self, channels: Iterable[str] | None = None) -> dict[str, Any]:
        """Everything a debug view needs, as JSON-serializable data.

        Keys: ``version``, ``seq`` (the last change's), ``channels``, ``producers``,
        ``consumers``, ``values`` (channel → producer id → payload, models dumped to JSON
        data, unknown objects as strings), ``history`` (channel → updates), ``diagnostics``,
        ``processes``, and what a mirror needs to start from it: ``config``, ``channel_state``
        (per channel: the order of its first producer, the seq of its last change, its
        model's JSON schema), ``churn`` and ``fleet``.

        Args:
            channels: Only these channels (a mirror catching up on some: ``merge``).
        """
        state = self._state
        wanted = None if channels is None else set(channels)
        infos: list[dict[str, Any]] = []
        producers: list[dict[str, Any]] = []
        consumers: list[dict[str, Any]] = []
        values: dict[str, dict[str, Any]] = {}
        history: dict[str, list[dict[str, Any]]] = {}
        extra: dict[str, dict[str, Any]] = {}
        for channel in state.existing():
            if wanted is not None and channel.name not in wanted:
                continue
            schema = self.json_schema(channel.name)
            with channel.lock:
                infos.append(_channel_info(channel).to_dict())
                everyone = channel.all_producers()
                producers += [_producer_info(channel, p).to_dict() for p in everyone]
                consumers += [_consumer_info(channel, c).to_dict() for c in channel.consumers]
                held = {p.key: p.value for p in everyone if p.has_value}
                past = list(channel.history)
                extra[channel.name] = {
                    "order": channel.first_producer_order,
                    "seq": channel.seq,
                    "schema": schema,
                }
            if held:
                values[channel.name] = jsonable(held)
            if past:
                history[channel.name] = [update_to_json(u) for u in past]
        with state.lock:
            churn = state.churn.to_json()
            fleet = {
                "linked": state.linked,
                "processes": [p.to_dict() for p in state.fleet_processes],
                "findings": [d.to_dict() for d in state.fleet_findings],
            }
        return {
            "version": SNAPSHOT_VERSION,
            "seq": state.last_seq,
            "config": {"history_size": state.history_size},
            "channels": infos,
            "producers": producers,
            "consumers": consumers,
            "values": values,
            "history": history,
            "channel_state": extra,
            "churn": churn,
            "fleet": jsonable(fleet),
            "processes": fleet["processes"],
            "diagnostics": [d.to_dict() for d in self.diagnostics()],
        }


def _channel_info(state: ChannelState) -> ChannelInfo:
    return ChannelInfo(
        state.name,
        state.model_name,
        len(state.producers) + len(state.remote),
        len(state.consumers),
        state.publish_count,
        state.last_update,
    )


def _consumer_info(state: ChannelState, c: ConsumerState) -> ConsumerInfo:
    return ConsumerInfo(
        c.id,
        state.name,
        c.registered_at,
        c.delivered,
        c.errors,
        c.subscribers,
        c.model_name,
        c.serial,
    )


def _producer_info(state: ChannelState, p: ProducerState) -> ProducerInfo:
    return ProducerInfo(
        p.id,
        state.name,
        p.kind,
        p.registered_at,
        p.publish_count,
        p.last_publish,
        p.has_value,
        p.leaked,
        p.validated,
        p.value_seq if p.has_value else None,
        p.process,
        p.widget,
        p.job_error,
    )


def producer_fact(state: ChannelState, p: ProducerState) -> _doctor.ProducerFacts:
    """What the doctor knows of one producer (call with its channel's lock held)."""
    return _new_tuple(
        _doctor.ProducerFacts,
        (
            state.name,
            p.id,
            p.kind,
            p.registered_at,
            p.validated,
            state.model_name is not None,
            p.publish_count,
            p.leaked,
            p.widget,
            p.job_error,
        ),
    )


def _facts(channels: list[ChannelState]) -> list[_doctor.ProducerFacts]:
    facts: list[_doctor.ProducerFacts] = []
    for state in channels:
        with state.lock:  # local producers only: each process's doctor covers its own
            facts.extend(producer_fact(state, p) for p in state.producers.values())
    return facts
