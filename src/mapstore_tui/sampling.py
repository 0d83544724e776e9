"""Which publishes the event log shows when there are too many to show them all.

Publishes are not pushed to the panel one by one (see ``feed.py``); after each redraw the
panel knows how far each channel's count moved, and reads the tail of the history of the
channels that moved: the latest ``per_channel`` of each, the latest ``per_batch`` overall.
The rest are counted, never lost silently. No Textual here: tested on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mapstore_core import ChannelUpdate, StoreEvent
from mapstore_core.plumbing import update_event

__all__ = ["sample_publishes"]

History = Callable[[str, int], list[dict[str, Any]]]
"""``history(channel, limit)``: the channel's last updates, oldest first, as dicts."""


def sample_publishes(
    deltas: dict[str, int], history: History, *, per_channel: int = 5, per_batch: int = 20
) -> tuple[list[StoreEvent], int]:
    """The publish events to log for channels whose counts moved by ``deltas``.

    Returns the events (oldest first) and how many publishes they leave out.
    """
    events: list[StoreEvent] = []
    for name, delta in deltas.items():
        if delta <= 0:
            continue
        want = min(delta, per_channel)
        tail = [u for u in history(name, want + 2) if u["kind"] == "published"][-want:]
        events.extend(update_event(ChannelUpdate(**u)) for u in tail)
    events.sort(key=lambda e: e.update.seq if e.update else 0)
    events = events[-per_batch:]
    return events, sum(d for d in deltas.values() if d > 0) - len(events)
