"""Driving the real ``mapstore-tui`` in a real terminal: tmux sessions, their panes, waits.

Skip a module's tests with ``pytestmark = needs_tmux`` where tmux is missing (never on CI).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.poll import poll_until

__all__ = ["EXE", "TMUX", "capture", "kill_session", "needs_tmux", "tmux", "until_shown"]

TMUX = shutil.which("tmux")
EXE = Path(sys.executable).parent / "mapstore-tui"

needs_tmux = pytest.mark.skipif(
    TMUX is None and not os.environ.get("CI"),
    reason="tmux is not installed (CI installs it and never skips this test)",
)


def tmux(*args: str) -> str:
    assert TMUX is not None, "tmux is required in CI"
    return subprocess.run([TMUX, "-u", *args], capture_output=True, text=True, check=True).stdout


def capture(session: str) -> str:
    return tmux("capture-pane", "-p", "-t", session)


def kill_session(session: str) -> None:
    """End the session (its terminal closes) if it still exists."""
    subprocess.run([TMUX or "tmux", "kill-session", "-t", session], capture_output=True)


def until_shown(session: str, *needles: str) -> None:
    """Poll the pane until every needle shows; on failure, say what the screen was."""

    def all_shown() -> bool:
        screen = capture(session)
        return all(needle in screen for needle in needles)

    try:
        poll_until(all_shown, what=f"{needles!r} on the screen", interval=0.1)  # runs tmux
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the screen was:\n{capture(session)}") from None
