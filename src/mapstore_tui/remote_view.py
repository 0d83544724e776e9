"""``RemoteStoreView``: the panel's read-only view of a store in another process.

It speaks to the store's debug endpoint (``store.serve_debug()``) through a
``DebugClient``. When the app stops or restarts, the view keeps answering with the last data
it received (the panel shows that it is disconnected) and reconnects by itself.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any, Protocol, runtime_checkable

from mapstore_core import (
    DebugClient,
    DebugConnectionError,
    DebugRequestError,
    EventKind,
    StoreEvent,
)
from mapstore_tui.view import EventListener

__all__ = ["ConnectionAware", "RemoteStoreView"]

StatusListener = Callable[[str], object]


@runtime_checkable
class ConnectionAware(Protocol):
    """A view that can lose its store: it reports ``connected``/``disconnected``/``resync``."""

    address: str
    status: str

    def on_status(self, listener: StatusListener) -> Callable[[], None]:
        """Call ``listener(status)`` on every change (from any thread); returns undo."""
        ...


class RemoteStoreView:
    """A ``StoreView`` over a debug endpoint (a name, ``unix:PATH`` or ``tcp://HOST:PORT``).

    Token options are ``DebugClient``'s. A request the endpoint refuses (an answer over its
    size limit, say) shows the last data received, like a lost connection; ``last_error``
    says why.

    Raises:
        DebugAddressError: the address is malformed or names no live endpoint.
    """

    def __init__(
        self,
        address: str,
        *,
        token: str | None = None,
        token_file: str | os.PathLike[str] | None = None,
        env_token: bool = True,
        retry: float = 1.0,
    ) -> None:
        self.status = "disconnected"
        self.last_error = ""
        self._listeners: list[tuple[EventListener, frozenset[str] | None]] = []
        self._status_listeners: list[StatusListener] = []
        self._cache: dict[tuple[str, tuple[tuple[str, Any], ...]], Any] = {}
        self.client = DebugClient(
            address,
            token=token,
            token_file=token_file,
            env_token=env_token,
            on_event=self._dispatch,
            on_status=self._changed,
            retry=retry,
        )
        self.address = self.client.address

    @property
    def description(self) -> str:
        """The endpoint's name and address, for the panel's header."""
        name = self.client.welcome.get("name")
        return f"{name} · {self.address}" if isinstance(name, str) and name else self.address

    def connect(self) -> RemoteStoreView:
        """Connect now (raises ``DebugConnectionError`` / ``DebugAuthError``)."""
        self.client.connect()
        self.status = "connected"
        return self

    def close(self) -> None:
        """Disconnect for good."""
        self.client.close()

    # -- StoreView -------------------------------------------------------------------------

    def _call(self, method: str, default: Any, **params: Any) -> Any:
        key = (method, tuple(sorted(params.items())))
        try:
            result = self.client.request(method, **params)
        except (DebugConnectionError, DebugRequestError) as exc:
            self.last_error = str(exc)
            return self._cache.get(key, default)  # the last state stays visible
        self._cache[key] = result
        return result

    def channels(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("channels", [])
        return result

    def producers(self, channel: str | None = None) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("producers", [], channel=channel)
        return result

    def consumers(self, channel: str | None = None) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("consumers", [], channel=channel)
        return result

    def values(self, channel: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("values", {}, channel=channel)
        return result

    def history(self, channel: str, *, limit: int | None = None) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("history", [], channel=channel, limit=limit)
        return result

    def schema(self, channel: str) -> dict[str, Any] | None:
        result: dict[str, Any] | None = self._call("schema", None, channel=channel)
        return result

    def log_producers(self) -> str:
        result: str = self._call("log_producers", "")
        return result

    def diagnostics(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("diagnostics", [])
        return result

    def snapshot(self) -> dict[str, Any]:
        """The remote store's JSON snapshot."""
        result: dict[str, Any] = self._call("snapshot", {})
        return result

    @property
    def can_dry_run(self) -> bool:
        """Whether the app opted in to dry runs (``serve_debug(allow_dry_run=True)``)."""
        return bool(self.client.welcome.get("dry_run"))

    def dry_run(self, channel: str, payload: Any) -> dict[str, Any]:
        """Ask the app to validate ``payload`` on ``channel``; nothing is delivered."""
        result: dict[str, Any] = self.client.request("dry_run", channel=channel, payload=payload)
        return result

    def subscribe(
        self, listener: EventListener, *, kinds: Iterable[EventKind] | None = None
    ) -> Callable[[], None]:
        entry = (listener, None if kinds is None else frozenset(kinds))
        self._listeners.append(entry)

        def unsubscribe() -> None:
            if entry in self._listeners:
                self._listeners.remove(entry)

        return unsubscribe

    def _dispatch(self, event: StoreEvent) -> None:
        for listener, kinds in list(self._listeners):
            if kinds is None or event.kind in kinds:
                listener(event)

    # -- connection ------------------------------------------------------------------------

    def on_status(self, listener: StatusListener) -> Callable[[], None]:
        self._status_listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._status_listeners:
                self._status_listeners.remove(listener)

        return unsubscribe

    def _changed(self, status: str) -> None:
        self.status = "connected" if status == "resync" else status
        for listener in list(self._status_listeners):
            listener(status)
