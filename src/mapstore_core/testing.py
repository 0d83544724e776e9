"""Helpers for testing code that publishes to a mapstore, for users' own test suites.

Example::

    from mapstore_core.testing import record

    def test_service_publishes_prices(store):
        with record("table-data", store=store) as rec:
            MarketDataService(store).refresh()
        rec.assert_published(producer_id="market-data-service")
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from mapstore_core._default import default_store
from mapstore_core._names import channel_name
from mapstore_core._records import ChannelUpdate

if TYPE_CHECKING:
    from mapstore_core._store import MapObjectStore

__all__ = ["ANY", "UpdateRecorder", "assert_published", "record"]


class _Any:
    def __repr__(self) -> str:
        return "ANY"


ANY: Any = _Any()
"""Matches any value in ``assert_published``."""


def _matches(actual: Any, expected: Any) -> bool:
    if expected is ANY:
        return True
    if isinstance(actual, BaseModel) and isinstance(expected, dict):
        return actual.model_dump() == expected
    return bool(actual == expected)


def _describe(updates: list[ChannelUpdate]) -> str:
    if not updates:
        return "there were no publishes"
    shown = updates[-10:]
    lines = [
        f"there were {len(updates)} publishes" + (", the last 10:" if len(updates) > 10 else ":")
    ]
    lines += [f"  seq {u.seq} from {u.producer_id!r}: {u.value!r}" for u in shown]
    return "\n".join(lines)


def _check(
    updates: list[ChannelUpdate],
    where: str,
    value: Any,
    producer_id: str | None,
    count: int | None,
) -> list[ChannelUpdate]:
    published = [u for u in updates if u.kind == "published"]
    hits = [
        u
        for u in published
        if (producer_id is None or u.producer_id == producer_id) and _matches(u.value, value)
    ]
    ok = len(hits) == count if count is not None else bool(hits)
    if not ok:
        wanted = "a publish" if count is None else f"exactly {count} publish(es)"
        if producer_id is not None:
            wanted += f" from {producer_id!r}"
        if value is not ANY:
            wanted += f" with value {value!r}"
        got = f" (matching: {len(hits)})" if count is not None else ""
        raise AssertionError(f"expected {wanted} on {where}{got}; {_describe(published)}")
    return hits


class UpdateRecorder:
    """Collects ``ChannelUpdate``s; pass it as a callback, or get one from ``record()``."""

    def __init__(self, channel: str | None = None) -> None:
        self.channel = channel
        self.updates: list[ChannelUpdate] = []
        self._lock = threading.Lock()

    def __call__(self, update: ChannelUpdate) -> None:
        """Record one update (thread-safe)."""
        with self._lock:
            self.updates.append(update)

    @property
    def values(self) -> list[Any]:
        """Published values, in order (clears left out)."""
        return [u.value for u in self.updates if u.kind == "published"]

    def clear(self) -> None:
        """Forget what was recorded."""
        with self._lock:
            self.updates.clear()

    def assert_published(
        self,
        value: Any = ANY,
        *,
        producer_id: str | None = None,
        count: int | None = None,
    ) -> list[ChannelUpdate]:
        """Assert a matching publish was recorded (exactly ``count`` of them, if given).

        A dict ``value`` also matches a model whose ``model_dump()`` equals it. Returns the
        matching updates; the failure message lists what was published instead.
        """
        where = f"channel {self.channel!r}" if self.channel else "the recorder"
        return _check(list(self.updates), where, value, producer_id, count)

    def assert_nothing_published(self) -> None:
        """Assert no publish was recorded."""
        published = [u for u in self.updates if u.kind == "published"]
        if published:
            where = f"channel {self.channel!r}" if self.channel else "the recorder"
            raise AssertionError(f"expected no publish on {where}; {_describe(published)}")


@contextmanager
def record(channel: str | Enum, *, store: MapObjectStore | None = None) -> Iterator[UpdateRecorder]:
    """Record a channel's updates for the duration of a ``with`` block."""
    name = channel_name(channel)
    recorder = UpdateRecorder(name)
    consumer = default_store(store).register_consumer(name, "mapstore-testing-recorder", recorder)
    try:
        yield recorder
    finally:
        consumer.close()


def assert_published(
    store: MapObjectStore,
    channel: str | Enum,
    value: Any = ANY,
    *,
    producer_id: str | None = None,
) -> ChannelUpdate:
    """Assert the channel's history holds a matching publish; return the newest match."""
    name = channel_name(channel)
    hits = _check(store.history(name), f"channel {name!r}", value, producer_id, None)
    return hits[-1]
