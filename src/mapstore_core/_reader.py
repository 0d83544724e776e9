"""``StoreReader``: a store's state as JSON-ready data, the one shape every debug view uses.

The in-process panel and the debug endpoint both read through it, so a panel shows the same
data whether the store lives in its process or in another one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mapstore_core._jsonable import jsonable

if TYPE_CHECKING:
    from mapstore_core._store import MapObjectStore

__all__ = ["StoreReader"]


class StoreReader:
    """Read-only, JSON-shaped access to one store."""

    def __init__(self, store: MapObjectStore) -> None:
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
        return [{**update._asdict(), "value": jsonable(update.value)} for update in updates]

    def schema(self, channel: str) -> dict[str, Any] | None:
        """The channel model's JSON schema, or None for a raw channel."""
        model = self.store.schema(channel)
        return None if model is None else model.model_json_schema(by_alias=False)

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
