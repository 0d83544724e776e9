"""The panel's only window on a store: a small, read-only, JSON-shaped view.

Every screen of the panel reads through ``StoreView``; nothing in the panel touches a
``MapObjectStore`` directly. Everything a view returns is plain JSON-ready data.
``LocalStoreView`` reads anything with the store's read API that it holds in this process:
the store itself, or a ``StoreMirror`` folded from another process's events (what an
attached panel reads), so the screens are the same whichever it is, and no read ever waits
on another process.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from mapstore_core import EventKind, MapObjectStore, StoreEvent, StoreMirror
from mapstore_core.plumbing import JsonReads

if TYPE_CHECKING:
    from mapstore_core import FlightRecorder

__all__ = ["DryRunCapable", "EventListener", "FlightRecordable", "LocalStoreView", "StoreView"]

EventListener = Callable[[StoreEvent], object]


class StoreView(Protocol):
    """What the panel may ask of a store. All results are JSON-ready dicts and lists."""

    def channels(self) -> list[dict[str, Any]]:
        """Every channel, as ``ChannelInfo`` fields."""
        ...

    def producers(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Open producers (``ProducerInfo`` fields), of one channel or all."""
        ...

    def consumers(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Open consumers (``ConsumerInfo`` fields), of one channel or all."""
        ...

    def values(self, channel: str) -> dict[str, Any]:
        """``{producer_id: payload}`` as JSON data, in registration order."""
        ...

    def history(self, channel: str, *, limit: int | None = None) -> list[dict[str, Any]]:
        """Past updates of the channel (the last ``limit``), oldest first, as dicts."""
        ...

    def schema(self, channel: str) -> dict[str, Any] | None:
        """The channel model's JSON schema, or None for a raw channel."""
        ...

    def log_producers(self) -> str:
        """The Log Producers text."""
        ...

    def diagnostics(self) -> list[dict[str, Any]]:
        """The doctor's findings (``Diagnostic`` fields)."""
        ...

    def subscribe(
        self, listener: EventListener, *, kinds: Iterable[EventKind] | None = None
    ) -> Callable[[], None]:
        """Call ``listener(event)`` for store events (of ``kinds``), from any thread.

        Returns the function that unsubscribes.
        """
        ...


@runtime_checkable
class DryRunCapable(Protocol):
    """A view that can check a payload against a channel without delivering it."""

    @property
    def can_dry_run(self) -> bool:
        """Whether dry runs are allowed (a remote app must opt in)."""
        ...

    def dry_run(self, channel: str, payload: Any) -> dict[str, Any]:
        """``valid``, ``schema``, ``problems`` (field → message), ``receivers``."""
        ...


@runtime_checkable
class FlightRecordable(Protocol):
    """A view that can keep a flight recorder of what it shows (the panel's ``R``)."""

    @property
    def can_record_flight(self) -> bool:
        """Whether there is anything live to record (a replay is a recording already)."""
        ...

    def flight_recorder(self, *, seconds: float, max_events: int) -> FlightRecorder:
        """Start an always-on window of the last ``seconds`` (``max_events`` at most)."""
        ...


class LocalStoreView(JsonReads):
    """A ``StoreView`` over a store in this process, or a mirror of one in another.

    Its reads are ``JsonReads``' (the debug endpoint answers with the same), and add the
    consumers of the other processes of a linked namespace.

    Args:
        reads: The store, or a ``StoreMirror``.
    """

    reads: MapObjectStore | StoreMirror

    def subscribe(
        self, listener: EventListener, *, kinds: Iterable[EventKind] | None = None
    ) -> Callable[[], None]:
        return self.reads.subscribe_events(listener, kinds=kinds)

    @property
    def can_dry_run(self) -> bool:
        """Whether dry runs work here: only over a store in this process."""
        return isinstance(self.reads, MapObjectStore)

    def dry_run(self, channel: str, payload: Any) -> dict[str, Any]:
        """Validate ``payload`` on ``channel`` without delivering it (a local store only).

        A linked store adds ``remote_receivers``: the consumers of the channel in the other
        live processes (``{"id", "process"}``), which a publish would reach through Redis.
        """
        if not isinstance(self.reads, MapObjectStore):
            raise PermissionError("a mirror cannot run a payload against the store")
        verdict = self.reads.dry_run(channel, payload)
        remote = self._remote_consumers(channel)
        if remote:
            verdict["remote_receivers"] = [{"id": c["id"], "process": c["process"]} for c in remote]
        return verdict

    @property
    def can_record_flight(self) -> bool:
        """Always: a store or a mirror of one is live."""
        return True

    def flight_recorder(
        self, *, seconds: float = 60.0, max_events: int = 100_000
    ) -> FlightRecorder:
        """The store's own flight recorder, or one fed by the mirror's events."""
        reads = self.reads
        if isinstance(reads, MapObjectStore):
            return reads.flight_recorder(seconds, max_events)
        from mapstore_core.recording import FlightRecorder, MirrorSource

        return FlightRecorder(MirrorSource(reads), seconds=seconds, max_events=max_events)

    @property
    def linked(self) -> bool:
        """Whether the store is linked (then the panel has a Processes view)."""
        reads = self.reads
        if isinstance(reads, MapObjectStore):
            return reads.linked is not None
        return reads.linked

    @property
    def link_status(self) -> str | None:
        """The Redis link's status (``connected``, ``disconnected``, …); None if not linked here."""
        reads = self.reads
        link = reads.linked if isinstance(reads, MapObjectStore) else None
        return None if link is None else str(link.status)

    @property
    def attach_command(self) -> str | None:
        """The command that attaches a panel to this store's namespace from another terminal.

        None when the store is not linked here (a mirror does not know its app's Redis).
        The URL's password, if any, is left out.
        """
        reads = self.reads
        link = reads.linked if isinstance(reads, MapObjectStore) else None
        if link is None:
            return None
        return (
            f"mapstore-tui attach {shlex.quote(link.url_redacted)} "
            f"--namespace {shlex.quote(link.namespace)}"
        )

    # A linked store holds the producers of every process, but consumers stay where they
    # are; their announcements say which. The panel counts and lists them all.

    def _remote_consumers(self, channel: str | None) -> list[dict[str, Any]]:
        found = []
        for process in self.reads.processes():
            if not process.alive or process.me:
                continue
            for name, consumer_id in process.consumers:
                if channel is None or name == channel:
                    found.append(
                        {
                            "id": consumer_id,
                            "channel": name,
                            "registered_at": "",
                            "delivered": None,
                            "errors": None,
                            "subscribers": None,
                            "model": process.schemas.get(name),
                            "process": process.name,
                        }
                    )
        return found

    def channels(self) -> list[dict[str, Any]]:
        channels = super().channels()
        remote = self._remote_consumers(None)
        if remote:
            counts: dict[str, int] = {}
            for consumer in remote:
                counts[consumer["channel"]] = counts.get(consumer["channel"], 0) + 1
            for channel in channels:
                channel["consumer_count"] += counts.get(channel["name"], 0)
        return channels

    def consumers(self, channel: str | None = None) -> list[dict[str, Any]]:
        local = [{**c, "process": None} for c in super().consumers(channel)]
        return local + self._remote_consumers(channel)

    def schema(self, channel: str) -> dict[str, Any] | None:
        """This store's model, else the one a linked process announced (the observer's case)."""
        mine = super().schema(channel)
        if mine is not None:
            return mine
        for process in self.reads.processes():
            if process.alive and channel in process.models:
                return process.models[channel]
        return None
