"""Where a producer or consumer was registered: the user's own line, not ours.

Walking a few frames with ``sys._getframe`` costs well under a microsecond per frame, which
keeps registration cheap; relative paths are cached per (file, cwd).
"""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from types import FrameType
from typing import TypeVar

_T = TypeVar("_T", bound=type)

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep

# Set to True once any class is marked consumer-only, so the (slower) look at frame locals
# only happens in apps that use the feature.
_consumer_only_in_use = False

_CONSUMER_ONLY_ATTR = "__mapstore_consumer_only__"
_MAX_WIDGET_FRAMES = 12


def _user_frame() -> FrameType | None:
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
    return frame


@lru_cache(maxsize=1024)
def _display_path(filename: str, cwd: str) -> str:
    if not os.path.isabs(filename):
        return filename
    try:
        relative = os.path.relpath(filename, cwd)
    except ValueError:  # another drive on Windows
        return filename
    return filename if relative.startswith(os.pardir) else relative


def caller_location() -> str:
    """Return ``path:line`` of the first frame outside ``mapstore_core``."""
    frame = _user_frame()
    if frame is None:
        return "<unknown>:0"
    try:
        cwd = os.getcwd()
    except OSError:
        cwd = ""
    return f"{_display_path(frame.f_code.co_filename, cwd)}:{frame.f_lineno}"


def registering_widget() -> str | None:
    """Name the consumer-only class whose method is registering, if any."""
    if not _consumer_only_in_use:
        return None
    frame = _user_frame()
    depth = 0
    while frame is not None and depth < _MAX_WIDGET_FRAMES:
        owner = frame.f_locals.get("self", frame.f_locals.get("cls"))
        if owner is not None:
            cls = owner if isinstance(owner, type) else type(owner)
            if getattr(cls, _CONSUMER_ONLY_ATTR, False):
                return cls.__qualname__
        frame = frame.f_back
        depth += 1
    return None


def consumer_only(cls: _T) -> _T:
    """Mark a class (and its subclasses) as a consumer-only widget.

    The guide says widgets consume and never produce: a producer registered from a method of
    a marked class is reported by the doctor as ``producer-in-widget``.
    """
    global _consumer_only_in_use
    setattr(cls, _CONSUMER_ONLY_ATTR, True)
    _consumer_only_in_use = True
    return cls
