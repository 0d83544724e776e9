"""Messages of the panel. Store callbacks only ever post ``StoreChanged``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual.message import Message

from mapstore_core import StoreEvent

if TYPE_CHECKING:
    from mapstore_tui.replay_view import Place

__all__ = [
    "ChannelSelected",
    "ConnectionChanged",
    "FlightDumped",
    "ReplayPlaced",
    "StoreChanged",
    "StoreReplaced",
]


@dataclass
class StoreChanged(Message):
    """Something happened in the store; the feed holds the events. Posted from any thread.

    A busy store posts many of these; one in the queue is enough, so a newer one replaces an
    older one that has not been handled yet.
    """

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, StoreChanged)


@dataclass
class ChannelSelected(Message):
    """The person picked a channel in the channel list (None: the filter hides them all)."""

    channel: str | None


@dataclass
class ConnectionChanged(Message):
    """A remote view's connection changed (posted from any thread); see ``ClientStatus``."""

    status: str
    """``connected``, ``unresponsive``, ``disconnected``, ``refused`` or ``resync``."""
    detail: str = ""
    """Why, in words (the endpoint's own, for a refusal), or empty."""
    code: str = ""
    """The endpoint's error code when it refused or ended the connection (``busy``)."""


@dataclass
class FlightDumped(Message):
    """The flight recorder's window was written (posted from the worker that wrote it)."""

    path: str
    """The file."""
    events: int = 0
    """Events it holds."""
    error: str = ""
    """Why nothing was written, or empty."""


@dataclass
class StoreReplaced(Message):
    """The view's state was replaced whole (a replay jumped): redraw everything from it."""

    recent: list[StoreEvent] = field(default_factory=list)
    """The events that led up to the new state, oldest first (for the event log)."""


@dataclass
class ReplayPlaced(Message):
    """A replay's jump is ready to show (posted by the worker that read the recording)."""

    request: int
    """Which jump: only the latest one asked for is shown."""
    place: Place | None = None
    """The point to show, or None (nothing found, or an error)."""
    error: str = ""
    """Why there is no place: nothing matched, or the file could not be read."""
