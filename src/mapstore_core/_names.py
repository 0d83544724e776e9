"""Checking the names users give to channels, producers and consumers."""

from __future__ import annotations

from enum import Enum

__all__ = ["channel_name", "check_id"]


def channel_name(channel: str | Enum) -> str:
    """Normalise a channel given as a string or a string enum member (``WidgetChannels``)."""
    name = channel.value if isinstance(channel, Enum) else channel
    if not isinstance(name, str) or not name:
        raise ValueError(f"a channel name must be a non-empty string, not {channel!r}")
    return name


def check_id(what: str, value: object) -> str:
    """Refuse an empty or non-string producer/consumer id, saying which."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"a {what} id must be a non-empty string, not {value!r}")
    return value
