"""``open_recording``: a recording's events, and the store's state after any one of them.

Opening reads the file once, a line at a time, and keeps only an index: where each
checkpoint is, the markers, how many events there are, what was cut or corrupt. Events are
then streamed from the nearest checkpoint (``events``), and ``state_at(i)`` loads the last
checkpoint at or before event ``i`` into a ``StoreMirror`` and folds at most
``CHECKPOINT_EVENTS`` events into it: the same fold every mirror uses.

Bad input never raises past opening: a line that is not an event (corrupt) is skipped,
counted and warned about, at open and identically on every later read, so indices never
shift; a file cut by a crash reads up to its last whole line and says how much was cut.
What cannot be a recording at all (another file, a newer version) is refused at open with a
``RecordingError``.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic_core import from_json

from mapstore_core._errors import EventFormatError, RecordingError, RecordingWarning
from mapstore_core._events import StoreEvent, event_from_json
from mapstore_core._mirror import StoreMirror
from mapstore_core._public import public
from mapstore_core.recording._format import FORMAT_NAME, FORMAT_VERSION
from mapstore_core.recording._lines import Tail, is_gzip, read_lines

__all__ = ["RecordingReader", "RecordingWarning", "is_skipped", "open_recording"]

logger = logging.getLogger("mapstore_core")

_CHECKPOINT = b'{"checkpoint":'
_CHECKPOINT_LINE = re.compile(rb'\{"checkpoint":(\d{1,15}),"state":\{.*\}\}\Z', re.DOTALL)
_MAX_LINE = 256 << 20
_PROBLEMS_KEPT = 20


@dataclass(frozen=True)
class _Checkpoint:
    index: int
    """Events before it: it holds the state after events ``0 .. index - 1``."""
    unit: int
    """Where reading starts to reach it (``read_lines``)."""
    skip: int
    """Lines before it from there."""


@public
class RecordingReader:
    """An opened recording (``open_recording``); see the module docstring.

    Safe to share between threads: every read opens the file anew.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        """The file read."""
        try:
            self._gzip = is_gzip(self.path)
        except OSError as exc:
            raise RecordingError(self.path, f"cannot be read: {exc.strerror or exc}") from exc
        self.header: dict[str, Any] = {}
        """The header line: format, version, mapstore version, process, channels' schemas."""
        self._length = 0
        self._checkpoints: list[_Checkpoint] = []
        self._markers: list[tuple[str, int]] = []
        self.skipped = 0
        """Lines left out because they were not events (corrupt)."""
        self.cut = 0
        """Bytes after the last whole line (the writer was stopped mid-line)."""
        self.problems: list[str] = []
        """What was wrong with the file, line by line (the first few of each kind)."""
        self._scan()

    # -- the public reads ------------------------------------------------------------------

    def __len__(self) -> int:
        """How many events the recording holds."""
        return self._length

    def markers(self) -> list[tuple[str, int]]:
        """``(label, index)`` of every marker, in order."""
        return list(self._markers)

    def events(self, start: int = 0, stop: int | None = None) -> Iterator[StoreEvent]:
        """The events from index ``start`` up to (not including) ``stop``, streamed."""
        start, stop = _bounds(start, stop, self._length)
        if start >= stop:
            return
        checkpoint = self._checkpoint_before(start)
        index = checkpoint.index if checkpoint is not None else 0
        for event in self._events_from(checkpoint):
            if index >= stop:
                return
            if index >= start:
                yield event
            index += 1

    def state_at(self, index: int, *, skip_producer: tuple[str, str] | None = None) -> StoreMirror:
        """The store as it was just after event ``index``: a read-only ``StoreMirror``.

        Its reads (``log_producers()``, ``values()``, ``producers()``, ``diagnostics()``,
        ``snapshot()``, ...) answer what the recorded store answered at that point, values
        as JSON data. Negative indices count from the end.

        Args:
            index: The event, from 0 to ``len(r) - 1`` (or negative, from the end).
            skip_producer: ``(channel, producer)`` (``"id"``, or ``"id@process"`` for a
                linked one): replay as if that producer had never published. A what-if:
                its value is taken out of the starting state and its publishes and clears
                are not folded, so this folds from the first event (slower on long files).

        Raises:
            IndexError: ``index`` is outside ``0 .. len(r) - 1``.
        """
        length = self._length
        if index < 0:
            index += length
        if not 0 <= index < length:
            raise IndexError(f"event index {index} is out of range (0 .. {length - 1})")
        if skip_producer is not None:
            return self._what_if(index, skip_producer)
        checkpoints = [c for c in self._checkpoints if c.index <= index + 1]
        while checkpoints:
            checkpoint = checkpoints.pop()
            mirror = self._load(checkpoint)
            if mirror is not None:
                return self._fold(mirror, checkpoint, index)
        return self._fold(StoreMirror(), None, index)

    def initial_state(self) -> StoreMirror:
        """The store as it was when the recording started, before its first event.

        The only state of a recording that holds no event (a flight recorder dumped while
        the store was quiet); an empty store's if the file has no readable start.
        """
        first = self._checkpoints[0] if self._checkpoints else None
        if first is not None and first.index == 0:
            mirror = self._load(first)
            if mirror is not None:
                return mirror
        return StoreMirror()

    def __repr__(self) -> str:
        return f"<RecordingReader {self.path!r} events={self._length}>"

    # -- opening -----------------------------------------------------------------------------

    def _scan(self) -> None:
        tail = Tail()
        lines = read_lines(self.path, 0, self._gzip, tail)
        try:
            first = next(lines, None)
            self._read_header(first[2] if first is not None else None)
            count = 0
            for unit, n, line in lines:
                if line.startswith(_CHECKPOINT):
                    if _CHECKPOINT_LINE.match(line) is None:
                        self._skip("a checkpoint line is incomplete")
                        continue
                    self._checkpoints.append(_Checkpoint(count, unit, n))
                    continue
                event = self._decode(line)
                if event is None:
                    continue
                if event.kind == "marker":
                    self._markers.append((event.message or "", count))
                count += 1
            self._length = count
        except OSError as exc:
            raise RecordingError(self.path, f"cannot be read: {exc.strerror or exc}") from exc
        self.cut = tail.cut
        for problem in tail.problems:
            self._note(problem)
        self.skipped += tail.broken
        if tail.cut:
            self._note(
                f"the last {tail.cut:,} bytes are an unfinished line (the recording process "
                "stopped while writing): read up to the last whole event"
            )
        if self.skipped or self.cut:
            message = f"{self.path}: " + "; ".join(self.problems[:3])
            if self.skipped:
                message += f" ({self.skipped} line(s) skipped in all)"
            warnings.warn(message, RecordingWarning, stacklevel=3)

    def _read_header(self, line: bytes | None) -> None:
        if line is None:
            raise RecordingError(self.path, "is not a mapstore recording (it is empty)")
        try:
            head = from_json(line) if len(line) <= _MAX_LINE else None
        except ValueError:
            head = None
        if not isinstance(head, dict) or head.get("format") != FORMAT_NAME:
            raise RecordingError(
                self.path,
                f"is not a mapstore recording (its first line is not a {FORMAT_NAME} header)",
            )
        version = head.get("version")
        if type(version) is not int or version < 1:
            raise RecordingError(
                self.path, f"is a recording of unknown version {str(version)[:20]!r}"
            )
        if version > FORMAT_VERSION:
            raise RecordingError(
                self.path,
                f"is a version-{version} recording; this mapstore reads version "
                f"{FORMAT_VERSION} and older: upgrade mapstore to read it",
                version=version,
            )
        self.header = head

    def _decode(self, line: bytes) -> StoreEvent | None:
        """The event a line holds, or None (counted and noted) if it holds none."""
        try:
            if len(line) > _MAX_LINE:
                raise ValueError(f"over {_MAX_LINE:,} bytes")
            return event_from_json(from_json(line))
        except (ValueError, EventFormatError) as exc:
            self._skip(f"a line is not an event ({str(exc)[:120]})")
            return None

    def _skip(self, why: str) -> None:
        self.skipped += 1
        self._note(why)

    def _note(self, problem: str) -> None:
        if len(self.problems) < _PROBLEMS_KEPT:
            self.problems.append(problem)

    # -- reading from a checkpoint -----------------------------------------------------------

    def _checkpoint_before(self, index: int) -> _Checkpoint | None:
        found = None
        for checkpoint in self._checkpoints:
            if checkpoint.index > index:
                break
            found = checkpoint
        return found

    def _lines_at(self, unit: int, skip: int) -> Iterator[bytes]:
        """The lines from ``unit`` on (``read_lines``), the first ``skip`` left out."""
        for _unit, _n, line in read_lines(self.path, unit, self._gzip, Tail()):
            if skip:
                skip -= 1
                continue
            yield line

    def _lines_from(self, checkpoint: _Checkpoint | None) -> Iterator[bytes]:
        """The lines after ``checkpoint`` (after the header if None)."""
        if checkpoint is None:
            return self._lines_at(0, 1)
        return self._lines_at(checkpoint.unit, checkpoint.skip + 1)

    def _events_from(self, checkpoint: _Checkpoint | None) -> Iterator[StoreEvent]:
        """The events after ``checkpoint``, skipping what the scan skipped (quietly now)."""
        for line in self._lines_from(checkpoint):
            if line.startswith(_CHECKPOINT):
                continue
            try:
                if len(line) > _MAX_LINE:
                    continue
                yield event_from_json(from_json(line))
            except (ValueError, EventFormatError):
                continue

    def _load(self, checkpoint: _Checkpoint) -> StoreMirror | None:
        """The state a checkpoint holds, or None (noted) if it is unreadable."""
        try:
            return StoreMirror(self._load_data(checkpoint))
        except (ValueError, KeyError, TypeError, EventFormatError) as exc:
            self._note(f"the checkpoint at event {checkpoint.index} is unreadable ({exc})")
            logger.warning("%s: checkpoint at event %d unreadable", self.path, checkpoint.index)
            return None

    def _fold(self, mirror: StoreMirror, checkpoint: _Checkpoint | None, index: int) -> StoreMirror:
        """Fold events from ``checkpoint`` up to and including ``index`` into ``mirror``."""
        at = checkpoint.index if checkpoint is not None else 0
        if at > index:
            return mirror
        apply = mirror.apply
        for event in self._events_from(checkpoint):
            apply(event)
            if at >= index:
                break
            at += 1
        return mirror

    def _what_if(self, index: int, skip: tuple[str, str]) -> StoreMirror:
        channel, key = skip
        first = self._checkpoints[0] if self._checkpoints else None
        base: dict[str, Any] | None = None
        start: _Checkpoint | None = None
        if first is not None and first.index == 0:
            start = first
            try:
                base = self._load_data(first)
            except ValueError:
                base = None
        mirror = StoreMirror(_without(base, channel, key) if base is not None else None)
        at = 0
        for event in self._events_from(start):
            if not is_skipped(event, skip):
                mirror.apply(event)
            if at >= index:
                break
            at += 1
        return mirror

    def _load_data(self, checkpoint: _Checkpoint) -> dict[str, Any]:
        """The snapshot a checkpoint's line holds.

        Raises:
            ValueError: the line is gone, is not JSON, or holds no snapshot object.
        """
        line = next(self._lines_at(checkpoint.unit, checkpoint.skip), None)
        if line is None:
            raise ValueError("the file ends before it")
        data = from_json(line)
        state = data.get("state") if isinstance(data, dict) else None
        if not isinstance(state, dict):
            raise ValueError("it holds no state")
        return state


def open_recording(path: str | os.PathLike[str]) -> RecordingReader:
    """Open a recording (``store.record``, ``FlightRecorder.dump``, ``mapstore-tui record``).

    Raises:
        RecordingError: the file cannot be read, is not a recording, or is of a newer
            format version (the message names it).
    """
    return RecordingReader(path)


def is_skipped(event: StoreEvent, skip_producer: tuple[str, str]) -> bool:
    """Whether the what-if ``state_at(..., skip_producer=...)`` leaves ``event`` out.

    Its publishes and clears on that channel are; everything else the producer did (it
    registered, it was rejected, it closed) still happened. A replay that steps forward
    through a what-if folds each event this says to keep.
    """
    channel, key = skip_producer
    return (
        event.kind in ("published", "cleared") and event.channel == channel and _key(event) == key
    )


def _bounds(start: int, stop: int | None, length: int) -> tuple[int, int]:
    start = max(0, start + length if start < 0 else start)
    stop = length if stop is None else (stop + length if stop < 0 else stop)
    return min(start, length), min(max(stop, 0), length)


def _key(event: StoreEvent) -> str:
    producer = event.producer_id or ""
    return producer if event.process is None else f"{producer}@{event.process}"


def _without(snapshot: dict[str, Any], channel: str, key: str) -> dict[str, Any]:
    """``snapshot`` with the producer's value and past updates taken out (a what-if)."""
    data = dict(snapshot)
    producers = []
    for info in data.get("producers") or []:
        if isinstance(info, dict) and info.get("channel") == channel:
            process = info.get("process")
            mine = info.get("id") if process is None else f"{info.get('id')}@{process}"
            if mine == key:
                info = {**info, "has_value": False, "value_seq": 0}
        producers.append(info)
    data["producers"] = producers
    values = dict(data.get("values") or {})
    held = dict(values.get(channel) or {})
    held.pop(key, None)
    values[channel] = held
    data["values"] = values
    history = dict(data.get("history") or {})
    history[channel] = [
        u for u in history.get(channel) or [] if not (isinstance(u, dict) and _update_key(u) == key)
    ]
    data["history"] = history
    return data


def _update_key(update: dict[str, Any]) -> str:
    producer = str(update.get("producer_id"))
    process = update.get("process")
    return producer if process is None else f"{producer}@{process}"
