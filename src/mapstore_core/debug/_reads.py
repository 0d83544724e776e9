"""What the debug endpoint reads of a store, and the JSON shape its answers take.

The endpoint sees a store only as ``ServedStore``: its public reads, its events, its snapshot
(whole or of some channels, with each channel's seq) and its dry run. Nothing here changes
the store (the doctor's ``diagnostics()`` is a pure read).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from mapstore_core._events import EventKind, StoreEvent
from mapstore_core._jsonable import jsonable
from mapstore_core._reads import update_to_json
from mapstore_core._records import (
    ChannelInfo,
    ChannelUpdate,
    ConsumerInfo,
    Diagnostic,
    ProducerInfo,
)

__all__ = ["JsonReads", "ServedStore"]


class ServedStore(Protocol):
    """A store as its debug endpoint uses it (``MapObjectStore`` is one): reads and events."""

    def channels(self) -> list[ChannelInfo]:
        """As ``MapObjectStore.channels``."""
        ...

    def producers(self, channel: str | None = None) -> list[ProducerInfo]:
        """As ``MapObjectStore.producers``."""
        ...

    def consumers(self, channel: str | None = None) -> list[ConsumerInfo]:
        """As ``MapObjectStore.consumers``."""
        ...

    def values(self, channel: str) -> dict[str, Any]:
        """As ``MapObjectStore.values``."""
        ...

    def history(self, channel: str) -> list[ChannelUpdate]:
        """As ``MapObjectStore.history``."""
        ...

    def json_schema(self, channel: str) -> dict[str, Any] | None:
        """As ``MapObjectStore.json_schema``."""
        ...

    def log_producers(self, channel: str | None = None) -> str:
        """As ``MapObjectStore.log_producers``."""
        ...

    def diagnostics(self) -> list[Diagnostic]:
        """As ``MapObjectStore.diagnostics``."""
        ...

    def snapshot(self, channels: Iterable[str] | None = None) -> dict[str, Any]:
        """As ``MapObjectStore.snapshot`` (the whole store, or some channels)."""
        ...

    def channel_seqs(self) -> dict[str, int]:
        """As ``MapObjectStore.channel_seqs``: what a client's copy of each channel is up to."""
        ...

    def subscribe_events(
        self, fn: Callable[[StoreEvent], object], *, kinds: Iterable[EventKind] | None = None
    ) -> Callable[[], None]:
        """As ``MapObjectStore.subscribe_events``."""
        ...

    def dry_run(self, channel: str, payload: Any) -> dict[str, Any]:
        """As ``MapObjectStore.dry_run``."""
        ...


class JsonReads:
    """The endpoint's request methods: a store's reads as JSON data."""

    def __init__(self, store: ServedStore) -> None:
        self.store = store

    def channels(self) -> list[dict[str, Any]]:
        """Every channel, as ``ChannelInfo`` fields."""
        return [info.to_dict() for info in self.store.channels()]

    def producers(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Open producers (``ProducerInfo`` fields), of one channel or all."""
        return [info.to_dict() for info in self.store.producers(channel)]

    def consumers(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Open consumers (``ConsumerInfo`` fields), of one channel or all."""
        return [info.to_dict() for info in self.store.consumers(channel)]

    def values(self, channel: str) -> dict[str, Any]:
        """``{producer_id: payload}`` as JSON data, in registration order."""
        data: dict[str, Any] = jsonable(self.store.values(channel))
        return data

    def history(self, channel: str, *, limit: int | None = None) -> list[dict[str, Any]]:
        """Past updates (the last ``limit``), oldest first, values as JSON data."""
        updates = self.store.history(channel)
        if limit is not None:
            updates = updates[-limit:] if limit > 0 else []
        return [update_to_json(update) for update in updates]

    def schema(self, channel: str) -> dict[str, Any] | None:
        """The channel model's JSON schema, or None for a raw channel."""
        return self.store.json_schema(channel)

    def log_producers(self, channel: str | None = None) -> str:
        """The Log Producers text."""
        return self.store.log_producers(channel)

    def diagnostics(self) -> list[dict[str, Any]]:
        """The doctor's findings (``Diagnostic`` fields)."""
        return [d.to_dict() for d in self.store.diagnostics()]

    def snapshot(self) -> dict[str, Any]:
        """The JSON snapshot."""
        return self.store.snapshot()

    def dry_run(self, channel: str, payload: Any) -> dict[str, Any]:
        """Validate ``payload`` on ``channel`` without delivering it."""
        return self.store.dry_run(channel, payload)
