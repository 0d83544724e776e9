"""The recording file: its lines, and the writing of them (plain, or gzip in members).

A recording is JSON Lines. The first line is the header (``{"format": "mapstore-recording",
"version": 1, ...}``); then come checkpoints (``{"checkpoint": n, "state": snapshot}``, the
state after the first n events) and events (each ``event_to_json(event, compact=True)``,
whose first key is always ``"kind"``). A line is whole or it is not there: the writer only
ever appends whole lines, so a file cut by a crash reads up to its last whole line.

A ``.gz`` recording is a series of gzip members, each starting at a checkpoint (gzip readers
read the members one after the other, as one stream): a reader seeks to the member of the
checkpoint it needs instead of decompressing the file from its start. Within a member the
writer flushes (``Z_SYNC_FLUSH``) at least every ``FLUSH_SECONDS``, so what was written is
readable after a crash too.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
import time
import zlib
from typing import IO, Any

from pydantic_core import to_json

from mapstore_core._errors import RecordingError
from mapstore_core._events import StoreEvent, event_to_json
from mapstore_core._version import __version__

__all__ = [
    "CHECKPOINT_EVENTS",
    "FLUSH_SECONDS",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "Output",
    "checkpoint_line",
    "event_line",
    "header",
    "open_output",
]

FORMAT_NAME = "mapstore-recording"
FORMAT_VERSION = 1
"""The version of the file's layout; a reader refuses a newer one by name."""

CHECKPOINT_EVENTS = 2000
"""Events between checkpoints: the most ``state_at`` ever folds after loading one."""

FLUSH_SECONDS = 0.5
"""The longest written lines wait in buffers (what a crash can lose)."""

_GZIP_LEVEL = 6


def header(
    snapshot: dict[str, Any], process: str | None, *, source: str | None = None
) -> dict[str, Any]:
    """The header line's data: what a reader needs to know before the first event.

    ``process`` names the recorded store's process in its namespace (None if it has no
    name); ``recorder`` is the process that wrote the file (the recorded one, or
    ``mapstore-tui record`` in another); ``source`` is ``store`` or ``mirror``.
    """
    extra = snapshot.get("channel_state") or {}
    schemas = {
        name: more["schema"]
        for name, more in extra.items()
        if isinstance(more, dict) and more.get("schema") is not None
    }
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "mapstore": __version__,
        "created": time.time(),
        "process": {"name": process},
        "recorder": {"host": socket.gethostname(), "pid": os.getpid(), "argv": list(sys.argv)},
        "source": source or "store",
        "checkpoint_events": CHECKPOINT_EVENTS,
        "schemas": schemas,
    }


def event_line(event: StoreEvent) -> bytes:
    """One event's line (without its newline)."""
    return to_json(event_to_json(event, compact=True))


def checkpoint_line(index: int, snapshot: dict[str, Any]) -> bytes:
    """A checkpoint's line: the state after the first ``index`` events."""
    return to_json({"checkpoint": index, "state": snapshot})


class Output:
    """Where a recording's lines go: a file, plain or as gzip members (see the module).

    Not thread-safe: one writer owns it. ``bytes`` counts what reached the file.
    """

    def __init__(self, path: str, file: IO[bytes], gzip: bool) -> None:
        self.path = path
        self._file = file
        self._gzip = gzip
        self._deflate: Any = None
        self._flushed = time.monotonic()
        self.bytes = 0

    def write(self, lines: list[bytes]) -> None:
        """Append whole lines."""
        if not lines:
            return
        data = b"\n".join(lines) + b"\n"
        if self._gzip:
            if self._deflate is None:
                self._deflate = zlib.compressobj(_GZIP_LEVEL, zlib.DEFLATED, 31)
            data = self._deflate.compress(data)
        self._raw(data)

    def new_member(self) -> None:
        """End the gzip member (a checkpoint starts the next); nothing for a plain file."""
        if self._gzip and self._deflate is not None:
            self._raw(self._deflate.flush(zlib.Z_FINISH))
            self._deflate = None

    def flush(self, *, force: bool = False) -> None:
        """Make what was written readable (after ``FLUSH_SECONDS``, or now if ``force``)."""
        now = time.monotonic()
        if not force and now - self._flushed < FLUSH_SECONDS:
            return
        self._flushed = now
        if self._deflate is not None:
            self._raw(self._deflate.flush(zlib.Z_SYNC_FLUSH))
        self._file.flush()

    def close(self) -> None:
        """End the last member and close the file."""
        try:
            self.new_member()
            self._file.flush()
        finally:
            self._file.close()

    def _raw(self, data: bytes) -> None:
        if data:
            self._file.write(data)
            self.bytes += len(data)


def open_output(path: str | os.PathLike[str]) -> Output:
    """Create (or truncate) ``path`` for a recording; gzip when its name ends in ``.gz``.

    A new file is readable by its owner only (a recording holds the app's data). A symbolic
    link at ``path`` is refused, not followed: in a shared directory, somebody else may have
    put it there to point the recording at a file of yours.

    Raises:
        RecordingError: the file cannot be created (the message says why).
    """
    name = os.fspath(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    try:
        if os.path.islink(name):
            raise OSError(errno.ELOOP, "it is a symbolic link (refused, not followed)")
        fd = os.open(name, flags, 0o600)
        file = os.fdopen(fd, "wb", buffering=1 << 16)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise RecordingError(name, f"cannot create the recording: {reason}") from exc
    return Output(name, file, name.endswith(".gz"))
