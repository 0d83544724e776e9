"""``RemoteStoreView``: the panel's view of a store in another process, read from a mirror.

A ``DebugClient`` keeps a ``StoreMirror`` in this process in step with the app's store: the
store's state when it connects, then its events, and syncs of the channels whose publishes
the endpoint coalesced. The panel reads the mirror through ``LocalStoreView``, so no read
ever waits on the other process: a busy or stopped app never freezes the panel's keys.
When the app stops responding, goes away or restarts, the mirror keeps the last state it
had (the panel says so), and a new connection's state replaces it. Only a dry run asks the
app, off the UI thread.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any, Protocol, runtime_checkable

from mapstore_core import DebugClient, EventKind, StoreEvent, StoreMirror
from mapstore_core.debug import ClientStatus
from mapstore_core.plumbing import Listeners, update_event
from mapstore_tui.view import EventListener, LocalStoreView

__all__ = ["ConnectionAware", "RemoteStoreView"]

logger = logging.getLogger("mapstore_core.debug")

StatusListener = Callable[[ClientStatus], object]


@runtime_checkable
class ConnectionAware(Protocol):
    """A view that can lose its store; it reports the client's ``ClientStatus`` changes.

    ``connected``, ``unresponsive`` (the app does not answer: the last state is shown),
    ``disconnected``, ``refused`` (with the endpoint's words in ``detail``), ``resync``
    (events were lost; the state was read again).
    """

    address: str
    status: str

    def on_status(self, listener: StatusListener) -> Callable[[], None]:
        """Call ``listener(status)`` on every change (from any thread); returns undo."""
        ...


class RemoteStoreView(LocalStoreView):
    """A ``StoreView`` over a debug endpoint (a name, ``unix:PATH`` or ``tcp://HOST:PORT``).

    Token options are ``DebugClient``'s, and so are ``retry`` and ``silence``. Listeners
    (``subscribe``) are told every event the app sends, once it is folded into the mirror;
    publishes arrive coalesced: after each sync, ``published`` listeners are told the newest
    publish of each channel that moved (``detail`` ``{"folded": n}`` when it stands for n
    more). A listener that raises is logged and the others are told.

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
        silence: float = 3.0,
        timeout: float = 5.0,
    ) -> None:
        self.mirror = StoreMirror()
        super().__init__(self.mirror)
        self.status = ClientStatus("disconnected")
        self._lock = threading.Lock()
        self._listeners = Listeners()
        self._status_listeners: tuple[StatusListener, ...] = ()
        self.client = DebugClient(
            address,
            token=token,
            token_file=token_file,
            env_token=env_token,
            on_event=self._on_event,
            on_state=self._on_state,
            on_status=self._changed,
            retry=retry,
            silence=silence,
            timeout=timeout,
        )
        self.address = self.client.address

    @property
    def description(self) -> str:
        """The endpoint's name and address, for the panel's header."""
        name = self.client.welcome.get("name")
        return f"{name} · {self.address}" if isinstance(name, str) and name else self.address

    @property
    def last_error(self) -> str:
        """The endpoint's latest refusal or error, in words (``""`` if none)."""
        return self.client.last_error

    def connect(self) -> RemoteStoreView:
        """Connect now and read the app's state.

        Raises:
            DebugConnectionError: nothing answers there, or no state came in time.
            DebugAuthError: the endpoint refused (its words are in the message).
        """
        self.client.connect()
        self.status = ClientStatus("connected")
        return self

    def close(self) -> None:
        """Disconnect for good (the mirror keeps the last state)."""
        self.client.close()

    # -- dry runs: the one thing asked of the app (never on the UI thread) -----------------

    @property
    def can_dry_run(self) -> bool:
        """Whether the app opted in to dry runs (``serve_debug(allow_dry_run=True)``)."""
        return bool(self.client.welcome.get("dry_run"))

    def dry_run(self, channel: str, payload: Any) -> dict[str, Any]:
        """Ask the app to validate ``payload`` on ``channel``; nothing is delivered.

        Blocks until the app answers (up to ``timeout``): call it from a worker thread.

        Raises:
            DebugConnectionError: not connected, or no answer in time (a stopped app).
            DebugRequestError: the app refused (dry runs are off, a bad channel).
        """
        result: dict[str, Any] = self.client.request("dry_run", channel=channel, payload=payload)
        return result

    # -- events ----------------------------------------------------------------------------

    def subscribe(
        self, listener: EventListener, *, kinds: Iterable[EventKind] | None = None
    ) -> Callable[[], None]:
        return self._listeners.add(listener, kinds)

    @property
    def can_record_flight(self) -> bool:
        """Never: the app's publishes reach this mirror coalesced, in syncs, not one by one.

        A flight recorder fed by this mirror would hold every other change and almost no
        publish; ``mapstore-tui record ADDRESS`` records the app faithfully instead (it
        rebuilds each sync's publishes from the channels' histories, and says where it
        cannot).
        """
        return False

    def _on_event(self, event: StoreEvent) -> None:
        # The client's reader thread. An event the state already held is stale for the
        # mirror (skipped) but it did happen, and is told all the same: each event comes
        # over the wire once.
        self.mirror.apply(event)
        self._tell(event)

    def _on_state(self, snapshot: dict[str, Any], partial: bool) -> None:
        if not partial:
            self.mirror.reset(snapshot)  # the client then tells "connected" or "resync"
            return
        before = {info.name: info.publish_count for info in self.mirror.channels()}
        merged = set(self.mirror.merge(snapshot))
        for info in self.mirror.channels():
            moved = info.publish_count - before.get(info.name, 0)
            newest = self._newest_publish(info.name) if info.name in merged and moved > 0 else None
            if newest is not None:
                self._tell(newest._replace(detail={"folded": moved - 1}) if moved > 1 else newest)

    def _newest_publish(self, channel: str) -> StoreEvent | None:
        for update in reversed(self.mirror.history(channel)):
            if update.kind == "published":
                return update_event(update)
        return None

    def _tell(self, event: StoreEvent) -> None:
        self._listeners.tell(event)

    # -- connection ------------------------------------------------------------------------

    def on_status(self, listener: StatusListener) -> Callable[[], None]:
        with self._lock:
            self._status_listeners = (*self._status_listeners, listener)

        def unsubscribe() -> None:
            with self._lock:
                self._status_listeners = tuple(
                    known for known in self._status_listeners if known is not listener
                )

        return unsubscribe

    def _changed(self, status: ClientStatus) -> None:
        # "resync" means the state was read again: connected all along.
        self.status = ClientStatus("connected") if status == "resync" else status
        for listener in self._status_listeners:
            try:
                listener(status)
            except Exception:
                logger.exception("a view status listener (%r) failed on %r", listener, status)
