"""``mapstore-tui record``: what a store in another process does, into a recording, until stopped.

Two sources. An app's debug endpoint: ``record_endpoint`` records the mirror its client
keeps, and says every jump of the app's state (a reconnection, lost events, a flood) as a
``gap``. A whole Redis namespace: a fresh store linked as a read-only observer receives
every process's producers and changes, each with its ``process``, and records itself
(``store.record``); it announces nothing and writes nothing to Redis.

The first event is a marker naming what is recorded, so even a recording in which nothing
happened has a point to replay: the state it started from. It runs until Ctrl+C, SIGTERM or
SIGHUP, or for ``seconds``; then it closes the file and returns its stats (``summary`` is
the line that says them). Meanwhile only changes of the connection are said, one line each,
as they happen; so are mapstore's own warnings, without tracebacks. A recording that cannot
start is one ``CannotRecord``, whose message carries the last warning (Redis's own words,
say) when there is one.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mapstore_core import MapObjectStore, MapStoreError, StoreEvent
from mapstore_core.recording import record_endpoint
from mapstore_tui._stopping import Stopped, held, wait_until_stopped

if TYPE_CHECKING:
    from mapstore_core.debug import ClientStatus

__all__ = ["CannotRecord", "record", "summary"]

Say = Callable[[str], object]
"""Where a line for the person recording goes (stderr)."""


class CannotRecord(Exception):
    """The recording could not start; the message says why in one line."""


def record(
    address: str,
    path: str,
    *,
    namespace: str | None,
    seconds: float | None,
    say: Say,
    ready_timeout: float = 5.0,
    token: str | None = None,
    token_file: str | None = None,
    env_token: bool = True,
) -> dict[str, Any]:
    """Record until stopped (see the module); returns the recording's final ``stats()``.

    Args:
        address: With ``namespace``, a Redis URL; else an endpoint as ``attach`` takes it.
        path: The recording (gzip when it ends in ``.gz``).
        namespace: The namespace to record, every process of it.
        seconds: Stop after this long (None: at Ctrl+C, SIGTERM or SIGHUP).
        say: Where the lines said while recording go.
        ready_timeout: Seconds to read the namespace once before giving up.
        token: The endpoint's token options, as ``attach``'s.
        token_file: See ``token``.
        env_token: See ``token``.

    Raises:
        CannotRecord: the endpoint is absent or refused, Redis or the namespace cannot be
            read, or the file cannot be created.
    """
    with _LogLines(say) as logs:
        source: _Source
        if namespace is not None:
            source = _Namespace(address, namespace, path, say, ready_timeout, logs)
        else:
            source = _App(address, path, say, token, token_file, env_token)
        logs.live = True
        return _run(source, seconds, say)


def summary(stats: dict[str, Any]) -> str:
    """The one line said at the end: events, path, bytes, dropped (and resyncs)."""
    resyncs = stats.get("resyncs", 0)
    more = f", {resyncs:,} resync{'s' if resyncs > 1 else ''}" if resyncs else ""
    return (
        f"recorded {stats['events']:,} events into {os.fspath(stats['path'])} "
        f"({stats['bytes']:,} bytes, {stats['dropped']:,} dropped{more})"
    )


class _LogLines(logging.Handler):
    """mapstore's warnings while recording: said in one line each once ``live``, else kept.

    A handler of its own on the ``mapstore_core`` logger also keeps Python's last-resort
    handler from printing a traceback for a record that carries one.
    """

    def __init__(self, say: Say) -> None:
        super().__init__(logging.WARNING)
        self.say = say
        self.live = False
        self.last: str | None = None
        self._logger = logging.getLogger("mapstore_core")

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if self.live:
                self.say(message)
            else:
                self.last = message
        except Exception:  # never into the thread that logged (logging's own policy)
            self.handleError(record)

    def __enter__(self) -> _LogLines:
        self._logger.addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        self._logger.removeHandler(self)


class _Source:
    """A recording under way; ``what`` names what it records."""

    what: str

    def mark(self, label: str) -> None:
        raise NotImplementedError

    def stats(self) -> dict[str, Any]:
        raise NotImplementedError

    def close(self) -> None:
        """Stop quietly (the connection's end is not news), write what is queued, close."""
        raise NotImplementedError


class _App(_Source):
    def __init__(
        self,
        address: str,
        path: str,
        say: Say,
        token: str | None,
        token_file: str | None,
        env_token: bool,
    ) -> None:
        self._say = say
        self._previous = ""
        self._quiet = True  # until it started, and once it ends
        try:
            self._recording = record_endpoint(
                address,
                path,
                token=token,
                token_file=token_file,
                env_token=env_token,
                on_status=self._changed,
            )
        except MapStoreError as exc:
            raise CannotRecord(str(exc)) from exc
        self._quiet = False
        name, where = self._recording.name, self._recording.client.address
        self.what = f"{name} at {where}" if name else where

    def mark(self, label: str) -> None:
        self._recording.mark(label)

    def stats(self) -> dict[str, Any]:
        return self._recording.stats()

    def close(self) -> None:
        self._quiet = True
        self._recording.close()

    def _changed(self, status: ClientStatus) -> None:
        """Say a change of the connection (the client's reader thread)."""
        previous, self._previous = self._previous, str(status)
        if self._quiet or (status == "connected" and previous in ("", "resync")):
            return
        if status == "connected":
            self._say("connected again: recording goes on")
        else:
            self._say(f"{status}: {status.detail}" if status.detail else str(status))


class _Namespace(_Source):
    def __init__(
        self,
        url: str,
        namespace: str,
        path: str,
        say: Say,
        ready_timeout: float,
        logs: _LogLines,
    ) -> None:
        store = MapObjectStore()
        try:
            self._link = store.link(url, namespace=namespace, observer=True)
        except MapStoreError as exc:
            raise CannotRecord(str(exc)) from exc
        try:
            if not self._link.wait_ready(timeout=ready_timeout):
                raise CannotRecord(
                    f"cannot read namespace {namespace!r} at {self._link.url_redacted} "
                    f"(link {self._link.status}): {logs.last or 'is Redis running there?'}"
                )
            self._recording = store.record(path)
        except BaseException as exc:
            self._link.close()
            if isinstance(exc, MapStoreError):
                raise CannotRecord(str(exc)) from exc
            raise
        self._say = say
        self._quiet = False
        self._stop_news = store.subscribe_events(self._news, kinds=("link_status",))
        self.what = f"namespace {namespace!r} at {self._link.url_redacted}"

    def mark(self, label: str) -> None:
        self._recording.mark(label)

    def stats(self) -> dict[str, Any]:
        return self._recording.stats()

    def close(self) -> None:
        """The recording first: closing the link closes every remote producer here."""
        self._quiet = True
        self._stop_news()
        self._recording.close()
        self._link.close()

    def _news(self, event: StoreEvent) -> None:
        if not self._quiet and event.message:
            self._say(event.message)


def _run(source: _Source, seconds: float | None, say: Say) -> dict[str, Any]:
    """Record until Ctrl+C, SIGTERM or SIGHUP, or ``seconds``; close; return the stats."""
    try:
        source.mark(f"recording {source.what}")
        until = f"for {seconds:g} s" if seconds is not None else "until Ctrl+C"
        say(f"recording {source.what} into {source.stats()['path']} {until}")
        wait_until_stopped(seconds)
    except (KeyboardInterrupt, Stopped):  # stopped while starting: closed all the same
        pass
    finally:
        with held():
            source.close()
    return source.stats()
