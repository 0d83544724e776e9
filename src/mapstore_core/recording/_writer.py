"""``EventWriter``: the one place a recording's lines are made, from a mirror it keeps.

The writer folds every event it writes into its own ``StoreMirror`` (``_fold.fold``, the one
fold); a checkpoint is that mirror's snapshot, so the state a checkpoint holds is by
construction the fold of the events before it, which is what a reader rebuilds. An event the
mirror finds stale (the starting snapshot already holds it: the tap began before the
snapshot was taken) is not written.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic_core import to_json

from mapstore_core._events import StoreEvent, update_event
from mapstore_core._mirror import StoreMirror
from mapstore_core._records import ChannelUpdate
from mapstore_core.recording._format import (
    CHECKPOINT_EVENTS,
    Output,
    checkpoint_line,
    event_line,
)

__all__ = ["EventWriter", "as_event"]


def as_event(item: Any) -> StoreEvent:
    """A tape's item as its event (a local publish comes as its bare ``ChannelUpdate``)."""
    if type(item) is ChannelUpdate:
        return update_event(item)
    event: StoreEvent = item
    return event


class EventWriter:
    """Writes a header, the starting state, then events and checkpoints (see the module)."""

    def __init__(self, output: Output, snapshot: dict[str, Any], head: dict[str, Any]) -> None:
        self._out = output
        self._mirror = StoreMirror(snapshot)
        self.events = 0
        """Events written."""
        self.dropped = 0
        """Events left out (counted by ``gap``)."""
        self.checkpoints = 0
        self._since = 0
        output.write([to_json(head)])
        self._checkpoint()

    def write(self, items: Iterable[Any]) -> None:
        """Fold and write tape items (updates or events), in order."""
        apply = self._mirror.apply
        lines: list[bytes] = []
        for item in items:
            event = update_event(item) if type(item) is ChannelUpdate else item
            if not apply(event):
                continue  # stale: the state written before already holds it
            lines.append(event_line(event))
            self.events += 1
            self._since += 1
            if self._since >= CHECKPOINT_EVENTS:
                self._out.write(lines)
                lines = []
                self._checkpoint()
        self._out.write(lines)
        self._out.flush()

    def gap(self, dropped: int, snapshot: dict[str, Any], timestamp: float, why: str) -> None:
        """``dropped`` events were left out: a ``gap`` event, then the state ``snapshot``.

        ``dropped`` is 0 when the source's state jumped (``Recording.resync``): ``why``
        alone is the message.
        """
        self.dropped += dropped
        event = StoreEvent(
            "gap",
            None,
            None,
            timestamp,
            message=f"{dropped:,} events were not recorded: {why}" if dropped else why,
            detail={"dropped": dropped},
        )
        self._out.write([event_line(event)])
        self.events += 1
        self._mirror.reset(snapshot)
        self._checkpoint()
        self._out.flush(force=True)

    def flush(self) -> None:
        """Push what is buffered to the file, at most every ``FLUSH_SECONDS``."""
        self._out.flush()

    def close(self) -> None:
        """Write what is buffered and close the file."""
        self._out.close()

    @property
    def bytes(self) -> int:
        """Bytes written to the file so far."""
        return self._out.bytes

    def _checkpoint(self) -> None:
        self._out.new_member()
        self._out.write([checkpoint_line(self.events, self._mirror.snapshot())])
        self.checkpoints += 1
        self._since = 0
