"""``JsonReads``: a store's reads as JSON data — the one shape every debug view answers in.

The debug endpoint answers its requests with it, and the panel's view reads a store (or a
mirror of one) through it, so a panel shows the same data wherever the store lives. It only
reads: ``diagnostics()`` included, nothing here changes a store or emits an event.
"""

from __future__ import annotations

from typing import Any, Protocol

from mapstore_core._jsonable import jsonable
from mapstore_core._reads import update_to_json
from mapstore_core._records import (
    ChannelInfo,
    ChannelUpdate,
    ConsumerInfo,
    Diagnostic,
    ProcessInfo,
    ProducerInfo,
)

__all__ = ["JsonReads", "Readable"]


class Readable(Protocol):
    """The store's read API (``MapObjectStore`` and ``StoreMirror`` have it)."""

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

    def processes(self) -> list[ProcessInfo]:
        """As ``MapObjectStore.processes``."""
        ...

    def snapshot(self) -> dict[str, Any]:
        """As ``MapObjectStore.snapshot``."""
        ...


class JsonReads:
    """A store's (or a mirror's) reads as JSON-ready dicts and lists.

    Args:
        reads: A store, a mirror, anything with the store's read API.
    """

    def __init__(self, reads: Readable) -> None:
        self.reads = reads

    def channels(self) -> list[dict[str, Any]]:
        """Every channel, as ``ChannelInfo`` fields."""
        return [info.to_dict() for info in self.reads.channels()]

    def producers(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Open producers (``ProducerInfo`` fields), of one channel or all."""
        return [info.to_dict() for info in self.reads.producers(channel)]

    def consumers(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Open consumers (``ConsumerInfo`` fields), of one channel or all."""
        return [info.to_dict() for info in self.reads.consumers(channel)]

    def values(self, channel: str) -> dict[str, Any]:
        """``{producer_id: payload}`` as JSON data, in registration order."""
        data: dict[str, Any] = jsonable(self.reads.values(channel))
        return data

    def history(self, channel: str, *, limit: int | None = None) -> list[dict[str, Any]]:
        """Past updates (the last ``limit``), oldest first, values as JSON data."""
        updates = self.reads.history(channel)
        if limit is not None:
            updates = updates[-limit:] if limit > 0 else []
        return [update_to_json(update) for update in updates]

    def schema(self, channel: str) -> dict[str, Any] | None:
        """The channel model's JSON schema, or None for a raw channel."""
        return self.reads.json_schema(channel)

    def log_producers(self, channel: str | None = None) -> str:
        """The Log Producers text."""
        return self.reads.log_producers(channel)

    def diagnostics(self) -> list[dict[str, Any]]:
        """The doctor's findings (``Diagnostic`` fields)."""
        return [d.to_dict() for d in self.reads.diagnostics()]

    def processes(self) -> list[dict[str, Any]]:
        """The processes of the linked namespace (``ProcessInfo`` fields; empty unlinked)."""
        return [process.to_dict() for process in self.reads.processes()]

    def snapshot(self) -> dict[str, Any]:
        """The JSON snapshot."""
        return self.reads.snapshot()
