"""``record_endpoint``: record an app in another process through its debug endpoint.

A ``DebugClient`` keeps a ``StoreMirror`` of the app's store, and a ``Recording`` records
that mirror (``MirrorSource``). Events fold in one by one; publishes do not: the endpoint
streams them coalesced, as a ``sync`` (a snapshot of the channels that moved) at most every
50 ms. A recording of syncs alone would hold no publish at all, so each sync is turned back
into the publishes its channels' histories still hold (``_publishes``), folded in order;
publishes that fell out of a history are counted on the producer's next one (``folded``, as
the Redis link does). If that does not rebuild the sync exactly (a flood: a consumer's
delivery count; a close that overtook a publish), the sync is merged whole and the recording
says so: a ``gap`` event and a checkpoint (``Recording.resync``). A whole new state (after a
reconnection, or after the endpoint lost events for this client) is such a jump too. Nothing
in the file jumps without a ``gap`` that says why.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from mapstore_core._errors import EventFormatError, MapStoreError
from mapstore_core._events import StoreEvent, update_event
from mapstore_core._mirror import StoreMirror
from mapstore_core.recording._recording import Recording
from mapstore_core.recording._source import MirrorSource

if TYPE_CHECKING:
    from mapstore_core.debug import ClientStatus, DebugClient

__all__ = ["EndpointRecording", "record_endpoint"]

_CHANNEL_KEYS = ("channels", "producers", "consumers", "values", "history", "channel_state")
"""What a snapshot says of its channels: where a rebuilt sync must agree with the sync."""


def record_endpoint(
    address: str,
    path: str | os.PathLike[str],
    *,
    token: str | None = None,
    token_file: str | os.PathLike[str] | None = None,
    env_token: bool = True,
    on_status: Callable[[ClientStatus], object] | None = None,
    timeout: float = 5.0,
    retry: float | None = 1.0,
) -> EndpointRecording:
    """Record the store of the app serving ``address`` into ``path`` (see the module).

    Connects first, then creates the file: an endpoint that is absent or refuses leaves no
    file. The recording goes on across the app's restarts (the client reconnects every
    ``retry`` seconds) until ``close()``.

    Args:
        address: As ``DebugClient`` takes it: a name from ``mapstore-tui ls``, ``unix:PATH``
            or a socket path, ``HOST:PORT``.
        path: The recording (gzip when it ends in ``.gz``).
        token: Token options, as ``DebugClient``'s.
        token_file: See ``token``.
        env_token: See ``token``.
        on_status: Told every ``ClientStatus`` change, on the client's reader thread.
        timeout: Seconds to wait for the connection and the app's state.
        retry: Seconds between reconnection attempts (None: do not reconnect).

    Raises:
        DebugAddressError: the address is malformed or names no live endpoint.
        DebugConnectionError: nothing answers there, or its state did not come in time.
        DebugAuthError: the endpoint refused the token, or it is not this user's.
        EventFormatError: the app's state is not one this mapstore reads.
        RecordingError: the file cannot be created.
    """
    return EndpointRecording(
        address,
        path,
        token=token,
        token_file=token_file,
        env_token=env_token,
        on_status=on_status,
        timeout=timeout,
        retry=retry,
    )


class EndpointRecording:
    """A recording of an app through its debug endpoint (``record_endpoint``).

    ``mark``, ``stats`` and ``close`` are the ``Recording``'s; ``stats()`` adds ``status``
    (the connection's) and ``resyncs`` (the ``gap`` events written for jumps of the app's
    state). A context manager.
    """

    def __init__(
        self,
        address: str,
        path: str | os.PathLike[str],
        *,
        token: str | None = None,
        token_file: str | os.PathLike[str] | None = None,
        env_token: bool = True,
        on_status: Callable[[ClientStatus], object] | None = None,
        timeout: float = 5.0,
        retry: float | None = 1.0,
    ) -> None:
        from mapstore_core.debug import DebugClient  # the transport loads with its first use

        self.mirror = StoreMirror()
        """The app's store as the client keeps it."""
        self.resyncs = 0
        """``gap`` events written for jumps of the app's state."""
        self._on_status = on_status
        # The reader thread folds into the mirror under this lock; the recording starts
        # under it too, so a change lands either in its first checkpoint or after it.
        self._folding = threading.Lock()
        self._recording: Recording | None = None
        self._jumped: str | None = None
        """Why the mirror was last replaced whole, until the recording says so."""
        self._unreadable: str | None = None
        self._previous = ""
        self.client: DebugClient = DebugClient(
            address,
            token=token,
            token_file=token_file,
            env_token=env_token,
            on_event=self._on_event,
            on_state=self._on_state,
            on_status=self._on_client_status,
            timeout=timeout,
            retry=retry,
        )
        self.client.connect()
        try:
            if self._unreadable is not None:
                raise EventFormatError(
                    f"the state {self.client.address} sent cannot be read: {self._unreadable}"
                )
            self.name = _endpoint_name(self.client.welcome.get("name"))
            """The app's endpoint name, as it said it (None if what it said cannot be one)."""
            source = MirrorSource(self.mirror, process=self.name)
            with self._folding:
                self._recording = Recording(source, path)
        except BaseException:
            self.client.close()
            raise

    @property
    def path(self) -> str:
        """The file written."""
        return self._started().path

    @property
    def status(self) -> str:
        """The connection's status (``DebugClient.status``)."""
        return str(self.client.status)

    def mark(self, label: str) -> None:
        """Write a ``marker`` event labelled ``label`` here (``Recording.mark``)."""
        self._started().mark(label)

    def stats(self) -> dict[str, Any]:
        """``Recording.stats()``, with the connection's ``status`` and ``resyncs``."""
        return {**self._started().stats(), "status": self.status, "resyncs": self.resyncs}

    def close(self) -> None:
        """Disconnect, write what is queued and close the file. Idempotent."""
        self.client.close()
        with self._folding:
            self._say_jump()
        self._started().close()

    def __enter__(self) -> EndpointRecording:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<EndpointRecording {self.client.address} {self._recording!r}>"

    def _started(self) -> Recording:
        recording = self._recording
        assert recording is not None, "the recording starts in __init__"
        return recording

    # -- the client's callbacks (its reader thread; the first state on the caller's) -------

    def _on_event(self, event: StoreEvent) -> None:
        with self._folding:
            self._say_jump()
            self.mirror.apply(event)

    def _on_state(self, snapshot: dict[str, Any], partial: bool) -> None:
        with self._folding:
            self._say_jump()
            try:
                if partial:
                    self._fold_sync(snapshot)
                else:
                    self.mirror.reset(snapshot)
                    if self._recording is not None:  # else the first checkpoint holds it
                        # said with the status that follows, which knows why (lost
                        # events, or a reconnection)
                        self._jumped = "the app's state was read again"
            except EventFormatError as exc:  # the app's words: said in the file, not raised
                if self._recording is None:
                    self._unreadable = str(exc)
                kind = "sync" if partial else "state"
                self._resync(f"the app sent a {kind} this mapstore cannot read ({exc})")

    def _on_client_status(self, status: ClientStatus) -> None:
        with self._folding:
            if status == "resync":
                self._say_jump(status.detail or None)
            elif status == "connected" and self._previous in ("disconnected", "refused"):
                self._say_jump(f"reconnected to {self.client.address}")
            self._previous = str(status)
        if self._on_status is not None:
            self._on_status(status)

    # -- syncs and jumps (the lock held) ---------------------------------------------------

    def _fold_sync(self, snapshot: dict[str, Any]) -> None:
        """Fold a sync in as the publishes it brought; merge it whole if they fall short."""
        sync = StoreMirror(snapshot)
        names = list(sync.channel_seqs())
        for event in _publishes(self.mirror, sync, names):
            self.mirror.apply(event)
        if _agree(self.mirror, sync, names):
            return
        apart = [name for name in names if not _agree(self.mirror, sync, [name])]
        self.mirror.merge(snapshot)
        self._resync(
            f"channel(s) {', '.join(apart)} read again whole: not every change there came "
            "one by one (the app's endpoint streams publishes coalesced; a flood folds more "
            "than the history holds)"
        )

    def _resync(self, why: str) -> None:
        """The mirror changed other than by events: a ``gap`` and a checkpoint say why."""
        if self._recording is not None:  # before it starts, its first checkpoint holds it
            self.resyncs += 1
            self._recording.resync(why)

    def _say_jump(self, why: str | None = None) -> None:
        """Say the pending replacement of the whole state, with ``why`` if known now."""
        said, self._jumped = self._jumped, None
        if said is not None:
            self._resync(why or said)


def _endpoint_name(said: object) -> str | None:
    """What the welcome named the endpoint, if it can name one (it comes from the app)."""
    from mapstore_core.debug._endpoints import check_name

    if not isinstance(said, str):
        return None
    try:
        return check_name(said)
    except MapStoreError:
        return None


def _agree(mirror: StoreMirror, sync: StoreMirror, names: list[str]) -> bool:
    """Whether ``mirror`` answers what ``sync`` does about the channels ``names``."""
    mine = mirror.snapshot(channels=names)
    theirs = sync.snapshot(channels=names)
    return all(mine[key] == theirs[key] for key in _CHANNEL_KEYS)


def _publishes(mirror: StoreMirror, sync: StoreMirror, names: Iterable[str]) -> list[StoreEvent]:
    """The publishes a sync brought that ``mirror`` lacks, as events, in their order.

    Those its channels' histories hold past each channel's last change in the mirror; a
    producer's publishes that fell out of the history are counted (``folded``) on its first
    one here.
    """
    since = mirror.channel_seqs()
    events: list[StoreEvent] = []
    for name in names:
        after = since.get(name, 0)
        events += [
            update_event(update)
            for update in sync.history(name)
            if update.kind == "published" and update.seq > after
        ]
    events.sort(key=lambda event: event.seq)
    held = {(p.channel, p.id, p.process): p.publish_count for p in mirror.producers()}
    wanted = {(p.channel, p.id, p.process): p.publish_count for p in sync.producers()}
    brought: dict[tuple[str, str, str | None], list[int]] = {}
    for index, event in enumerate(events):
        key = (event.channel or "", event.producer_id or "", event.process)
        brought.setdefault(key, []).append(index)
    for key, indices in brought.items():
        skipped = wanted.get(key, 0) - held.get(key, 0) - len(indices)
        if skipped > 0:
            first = indices[0]
            events[first] = events[first]._replace(detail={"folded": skipped})
    return events
