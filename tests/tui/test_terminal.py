"""Smoke tests of the real ``mapstore-tui`` in a real terminal (tmux): the demo, a panel
attached to an app that is stopped, and a replay."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.poll import poll_until
from tests.processes import children
from tests.tmux import EXE, TMUX, capture, kill_session, needs_tmux, tmux, until_shown

from .recordings import write_session

pytestmark = needs_tmux


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


@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP", "SIGINT"])
def test_a_stop_signal_ends_the_demo_as_q_does(name: str) -> None:
    """SIGTERM used to leave the panel's last frame on the screen (the alternate screen,
    raw mode: it needed ``reset``); now Textual restores the terminal, as after ``q``."""
    session = f"mapstore-{name.lower()}-{os.getpid()}"
    command = (
        f"env -u COLUMNS -u LINES TERM=xterm-256color COLORTERM=truecolor LANG=C.UTF-8 "
        f"{EXE} demo --seed 1; "
        "echo EXITED:$?; sleep 30"
    )
    tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "36", command)
    try:
        until_shown(session, "table-data", "q Quit")
        shell = int(tmux("display", "-p", "-t", session, "#{pane_pid}"))
        [panel] = [p for p in children(shell) if " demo " in p.cmdline + " "]
        sig = getattr(signal, name)
        os.kill(panel.pid, sig)
        until_shown(session, f"EXITED:{128 + sig}")
        assert tmux("display", "-p", "-t", session, "#{alternate_on}").strip() == "0"
        assert "q Quit" not in capture(session)
    finally:
        kill_session(session)


PANES = (  # key -> what only that bottom pane shows, for the attached demo
    ("l", "1. market-data-service (producer)"),
    ("d", "no findings"),
    ("f", "(no consumers)"),
    ("e", "published   "),
)


def test_an_attached_panel_answers_keys_while_the_app_is_stopped(tmp_path: Path) -> None:
    """``kill -STOP`` the app: the attached panel says so and every key still changes the
    screen at once (it reads its local mirror); ``kill -CONT``: the notice goes."""
    runtime = tmp_path / "xdg"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime)}
    name = f"frozen-{os.getpid()}"
    app = subprocess.Popen(
        [str(EXE), "serve-demo", "--seed", "1", "--name", name],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    session = f"mapstore-frozen-{os.getpid()}"
    try:
        assert app.stdout is not None and app.stdout.readline().startswith("mapstore debug")
        command = (
            f"env -u COLUMNS -u LINES XDG_RUNTIME_DIR={runtime} TERM=xterm-256color "
            f"COLORTERM=truecolor LANG=C.UTF-8 {EXE} attach {name}; echo EXITED:$?; sleep 30"
        )
        tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "36", command)
        # every pane has something to show (the event log, a publish) before the stop
        until_shown(session, "table-data", "metric-data", "q Quit", PANES[-1][1])
        os.kill(app.pid, signal.SIGSTOP)
        try:
            until_shown(session, "the app is not responding")
            took = []
            for key, shows in PANES * 3:
                started = time.monotonic()
                tmux("send-keys", "-t", session, key)
                until_shown(session, shows)
                took.append(time.monotonic() - started)
            assert "the app is not responding" in capture(session)
        finally:
            os.kill(app.pid, signal.SIGCONT)
        poll_until(
            lambda: "not responding" not in capture(session), what="the notice gone", interval=0.1
        )
        # Generous (bench_remote.py measures it): a read that waited for the stopped app
        # would take the client's 5 s timeout per key.
        assert sorted(took)[int(0.95 * len(took))] < 1.0, took
        tmux("send-keys", "-t", session, "q")
        until_shown(session, "EXITED:0")
    finally:
        subprocess.run([TMUX or "tmux", "kill-session", "-t", session], capture_output=True)
        if app.poll() is None:
            app.send_signal(signal.SIGCONT)
            app.terminate()
            app.wait(timeout=10)
        if app.stdout is not None:
            app.stdout.close()


def test_replay_in_a_real_terminal(tmp_path: Path) -> None:
    """``mapstore-tui replay FILE``: the timeline keys move ``event N/M`` in the header."""
    recording = write_session(tmp_path / "session.jsonl.gz")
    session = f"mapstore-replay-{os.getpid()}"
    command = (
        f"env -u COLUMNS -u LINES TERM=xterm-256color COLORTERM=truecolor LANG=C.UTF-8 "
        f"{EXE} replay {recording}; echo EXITED:$?; sleep 30"
    )
    tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "36", command)

    def press(*keys: str, literal: bool = False) -> None:
        tmux("send-keys", "-t", session, *(("-l",) if literal else ()), *keys)

    try:
        until_shown(session, "event 15/15", "22:13:23.250 UTC", "replay session.jsonl.gz")
        press("Home")
        until_shown(session, "event 1/15 ", "22:13:20.000 UTC")
        press("]", literal=True)
        until_shown(session, "event 2/15 ", "published paragraph-content")
        press("[", literal=True)
        until_shown(session, "event 1/15 ", "registered paragraph-content")
        press("m")
        until_shown(session, "event 9/15 ", "marker “polling starts”")
        press("m")
        until_shown(session, "event 13/15 ", "marker “after the rejection”")
        press("End")
        until_shown(session, "event 15/15 ")
        press("Space")  # at the last event: plays from the first, in real time (3.25 s)
        until_shown(session, "▶ PLAYING")
        until_shown(session, "⏸ REPLAY", "event 15/15 ")
        press("q")
        until_shown(session, "EXITED:0")
    finally:
        subprocess.run([TMUX or "tmux", "kill-session", "-t", session], capture_output=True)
