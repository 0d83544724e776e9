"""Smoke test of the real ``mapstore-tui demo`` in a real terminal (tmux)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

TMUX = shutil.which("tmux")
EXE = Path(sys.executable).parent / "mapstore-tui"

pytestmark = pytest.mark.skipif(
    TMUX is None and not os.environ.get("CI"),
    reason="tmux is not installed (CI installs it and never skips this test)",
)


def tmux(*args: str) -> str:
    assert TMUX is not None, "tmux is required in CI"
    return subprocess.run([TMUX, "-u", *args], capture_output=True, text=True, check=True).stdout


def wait_for(session: str, *needles: str, within: float = 30.0) -> str:
    """Poll the pane until every needle shows (bounded; not a timing assertion)."""
    deadline = time.monotonic() + within
    screen = ""
    while time.monotonic() < deadline:
        screen = tmux("capture-pane", "-p", "-t", session)
        if all(needle in screen for needle in needles):
            return screen
        time.sleep(0.1)
    raise AssertionError(f"never saw {needles!r}; the screen was:\n{screen}")


def test_demo_in_a_real_terminal() -> None:
    session = f"mapstore-smoke-{os.getpid()}"
    command = (
        f"env -u COLUMNS -u LINES TERM=xterm-256color COLORTERM=truecolor LANG=C.UTF-8 "
        f"{EXE} demo --seed 1; "
        "echo EXITED:$?; sleep 30"
    )
    tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "36", command)
    try:
        wait_for(session, "table-data", "metric-data", "5 producers", "q Quit")
        tmux("send-keys", "-t", session, "l")
        wait_for(
            session,
            "Channel: paragraph-content",
            "1. static-page-content (producer)",
            "2. user-input-form (producer)",
            "Channel: table-data",
            "1. market-data-service (producer)",
        )
        tmux("send-keys", "-t", session, "q")
        wait_for(session, "EXITED:0")
    finally:
        subprocess.run([TMUX or "tmux", "kill-session", "-t", session], capture_output=True)
