"""Smoke test of the real ``mapstore-tui demo`` in a real terminal (tmux)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.poll import poll_until

TMUX = shutil.which("tmux")
EXE = Path(sys.executable).parent / "mapstore-tui"

pytestmark = pytest.mark.skipif(
    TMUX is None and not os.environ.get("CI"),
    reason="tmux is not installed (CI installs it and never skips this test)",
)


def tmux(*args: str) -> str:
    assert TMUX is not None, "tmux is required in CI"
    return subprocess.run([TMUX, "-u", *args], capture_output=True, text=True, check=True).stdout


def capture(session: str) -> str:
    return tmux("capture-pane", "-p", "-t", session)


def until_shown(session: str, *needles: str) -> None:
    """Poll the pane until every needle shows; on failure, say what the screen was."""

    def all_shown() -> bool:
        screen = capture(session)
        return all(needle in screen for needle in needles)

    try:
        poll_until(all_shown, what=f"{needles!r} on the screen", interval=0.1)  # runs tmux
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the screen was:\n{capture(session)}") from None


def test_demo_in_a_real_terminal() -> None:
    session = f"mapstore-smoke-{os.getpid()}"
    command = (
        f"env -u COLUMNS -u LINES TERM=xterm-256color COLORTERM=truecolor LANG=C.UTF-8 "
        f"{EXE} demo --seed 1; "
        "echo EXITED:$?; sleep 30"
    )
    tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "36", command)
    try:
        until_shown(session, "table-data", "metric-data", "5 producers", "q Quit")
        tmux("send-keys", "-t", session, "l")
        until_shown(
            session,
            "Channel: paragraph-content",
            "1. static-page-content (producer)",
            "2. user-input-form (producer)",
            "Channel: table-data",
            "1. market-data-service (producer)",
        )
        tmux("send-keys", "-t", session, "q")
        until_shown(session, "EXITED:0")
    finally:
        subprocess.run([TMUX or "tmux", "kill-session", "-t", session], capture_output=True)
