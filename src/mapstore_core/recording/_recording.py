"""``Recording``: a store's events, written to a file by a thread of its own.

The publish path only appends to a deque (``TapPort.tap``); the writer thread takes what
is there every few milliseconds, folds it, and writes lines (``EventWriter``). If it falls
behind by more than ``MAX_PENDING`` changes, it leaves them out rather than let memory
grow: it counts them, writes a ``gap`` event and the store's state at that point (a
checkpoint), and goes on; nothing is left out silently.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from collections import deque
from typing import Any

from mapstore_core._events import StoreEvent
from mapstore_core._public import public
from mapstore_core.recording._format import header, open_output
from mapstore_core.recording._source import Source, source_kind
from mapstore_core.recording._writer import EventWriter

__all__ = ["MAX_PENDING", "Recording"]

logger = logging.getLogger("mapstore_core")

MAX_PENDING = 250_000
"""Changes waiting for the writer beyond which they are left out (a ``gap``)."""

_BATCH = 4096
_IDLE = 0.02
"""How long an idle writer sleeps: 50 wake-ups a second, not 200, and far below what a
second of publishing can queue (MAX_PENDING)."""

_open: weakref.WeakSet[Recording] = weakref.WeakSet()


class _Resync:
    """A tape item: the source's state jumped (a mirror resynchronised) to ``snapshot``."""

    __slots__ = ("snapshot", "why")

    def __init__(self, why: str, snapshot: dict[str, Any]) -> None:
        self.why = why
        self.snapshot = snapshot


@public
class Recording:
    """A recording in progress (``store.record(path)``); see the module docstring.

    Use it as a context manager, or call ``close()``. Recordings still open when the
    interpreter exits are closed then, so the file ends with everything recorded.
    """

    def __init__(self, source: Source, path: str | os.PathLike[str]) -> None:
        self._source = source
        self._pending: deque[Any] = deque()
        self._error: str | None = None
        self._lost = 0
        self._lock = threading.Lock()
        self._closing = threading.Event()
        output = open_output(path)
        self.path = output.path
        """The file written."""
        self._stop_tap = source.tap(self._pending.append)
        try:
            snapshot = source.snapshot()
            self._writer = EventWriter(
                output, snapshot, header(snapshot, source.process(), source=source_kind(source))
            )
        except BaseException:
            self._stop_tap()
            output.close()
            raise
        self._thread = threading.Thread(
            target=self._run, name=f"mapstore-recording:{self.path}", daemon=True
        )
        _open.add(self)
        self._thread.start()

    def mark(self, label: str) -> None:
        """Write a ``marker`` event labelled ``label`` at this point of the recording.

        ``open_recording(path).markers()`` lists it; ``state_at`` its index answers what the
        store answered when it was marked.
        """
        if not isinstance(label, str):
            raise TypeError(f"a marker's label must be a string, not {type(label).__name__}")
        self._pending.append(StoreEvent("marker", None, None, self._source.now(), message=label))

    def resync(self, why: str) -> None:
        """The source's state jumped (a mirror caught up whole): record a gap and its state.

        For recorders of a mirror (``mapstore-tui record``): changes the mirror was not
        sent one by one are not in the recording; the ``gap`` says so and the checkpoint
        after it holds the mirror's state. Call it just after the jump, on the thread that
        made it: the state is read now, so the changes that follow fold on top of it (read
        when the writer got to it, a busy mirror would have moved on, and the changes
        queued meanwhile would be left out as already in it).
        """
        self._pending.append(_Resync(why, self._source.snapshot()))

    def stats(self) -> dict[str, Any]:
        """How the recording goes: a dict.

        ``events`` written, ``bytes`` on disk, ``dropped`` (left out), ``pending``,
        ``checkpoints``, ``path``, and ``error`` (why writing stopped, or None).
        """
        writer = self._writer
        return {
            "path": self.path,
            "events": writer.events,
            "bytes": writer.bytes,
            "dropped": writer.dropped + self._lost,
            "pending": len(self._pending),
            "checkpoints": writer.checkpoints,
            "error": self._error,
        }

    @property
    def closed(self) -> bool:
        """Whether the recording was closed (or stopped by an error)."""
        return self._closing.is_set()

    def close(self) -> None:
        """Stop recording, write what is queued, and close the file. Idempotent."""
        with self._lock:
            if self._closing.is_set():
                self._thread.join()
                return
            self._stop_tap()
            self._closing.set()
        self._thread.join()
        _open.discard(self)

    def __enter__(self) -> Recording:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "recording"
        return f"<Recording {self.path!r} {state} events={self._writer.events}>"

    # -- the writer thread -----------------------------------------------------------------

    def _run(self) -> None:
        pending = self._pending
        writer = self._writer
        try:
            while True:
                if not pending:
                    if self._closing.is_set():
                        break
                    writer.flush()  # what was written is on disk within FLUSH_SECONDS
                    self._closing.wait(_IDLE)
                    continue
                if len(pending) > MAX_PENDING:
                    self._fell_behind()
                    continue
                batch: list[Any] = []
                popleft = pending.popleft
                for _ in range(min(len(pending), _BATCH)):
                    item = popleft()
                    if type(item) is _Resync:
                        writer.write(batch)
                        batch = []
                        self._gap(0, item.why, item.snapshot)
                    else:
                        batch.append(item)
                writer.write(batch)
        except Exception as exc:  # a full disk, a closed file: say so, never take the app down
            self._error = f"{type(exc).__name__}: {exc}"
            logger.error("recording %s stopped: %s", self.path, self._error)
            self._stop_tap()
            self._closing.set()
            self._lost += len(pending)
            pending.clear()
        finally:
            try:
                writer.close()
            except Exception as exc:
                self._error = self._error or f"{type(exc).__name__}: {exc}"
                logger.error("recording %s could not be closed: %s", self.path, exc)

    def _fell_behind(self) -> None:
        """Leave out what waits (it all happened before the snapshot taken now)."""
        waiting = len(self._pending)
        self._gap(waiting, "the recording's writer fell behind")
        # taken after the snapshot: everything counted happened before it, so it holds them
        popleft = self._pending.popleft
        for _ in range(waiting):
            popleft()

    def _gap(self, dropped: int, why: str, snapshot: dict[str, Any] | None = None) -> None:
        state = self._source.snapshot() if snapshot is None else snapshot
        self._writer.gap(dropped, state, self._source.now(), why)


@atexit.register
def _close_open() -> None:
    for recording in list(_open):
        try:
            recording.close()
        except Exception:  # pragma: no cover (exit must go on)
            logger.exception("closing %r at exit failed", recording)
