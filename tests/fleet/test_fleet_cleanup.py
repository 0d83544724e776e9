"""The real ``mapstore-tui fleet-demo`` in tmux, ended every way a person ends it.

``q``, SIGINT, SIGTERM, SIGHUP (the terminal still open), the terminal closed (tmux
kill-session) and SIGKILL. Each time: redis-server and every worker exit (by their pids and
start times, and no process names the demo's directory on its command line), the temporary
directory goes, and where a terminal is left it is restored (out of the alternate screen,
the shell's prompt line showing). A SIGKILLed panel cannot remove anything itself: its
children end by the parent-death mechanism, and the next fleet-demo removes its directory.

The demo's temporary directory lives in a private ``TMPDIR`` (short: a Unix socket path
has a length limit), so these tests see only their own demo.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.poll import poll_until
from tests.processes import Process, children, naming, process, running
from tests.tmux import EXE, capture, kill_session, needs_tmux, tmux, until_shown

pytestmark = needs_tmux


@dataclass
class Demo:
    """A fleet-demo running in a tmux session: its panel, the panel's children, its files."""

    session: str
    panel: Process
    children: list[Process]
    directory: Path


@pytest.fixture
def root() -> Iterator[Path]:
    """A private, short TMPDIR for the demo."""
    path = Path(tempfile.mkdtemp(prefix="mfc-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def start(root: Path, session: str) -> Demo:
    """``mapstore-tui fleet-demo`` in a new tmux session, once its four workers show alive."""
    command = (
        "env -u COLUMNS -u LINES TERM=xterm-256color COLORTERM=truecolor LANG=C.UTF-8 "
        f"{EXE} fleet-demo; echo EXITED:$?; sleep 30"
    )
    size = ("-x", "140", "-y", "45")
    tmux("new-session", "-d", "-s", session, *size, "-e", f"TMPDIR={root}", command)
    until_shown(session, "4 alive")
    shell = int(tmux("display", "-p", "-t", session, "#{pane_pid}"))
    [panel] = [p for p in children(shell) if "fleet-demo" in p.cmdline]
    started = poll_until(
        lambda: len(children(panel.pid)) == 6, what="redis-server, 4 workers, the keeper"
    )
    assert started
    [directory] = [d for d in root.iterdir() if d.name.startswith("mapstore-fleet-")]
    return Demo(session, panel, children(panel.pid), directory)


def _session(name: str) -> str:
    return f"fleet-cleanup-{name}-{os.getpid()}"


def assert_nothing_left(demo: Demo) -> None:
    """The panel, redis-server and every worker have exited; the directory is gone."""
    poll_until(
        lambda: not any(running(p) for p in [demo.panel, *demo.children]),
        what="the panel, redis-server and the workers to exit",
    )
    assert naming(str(demo.directory)) == []  # no process left that names it
    assert any("redis-server" in p.cmdline for p in demo.children)
    assert any("_lifeline.py terminal" in p.cmdline for p in demo.children)
    assert sum("fleet_worker" in p.cmdline for p in demo.children) == 4
    assert not demo.directory.exists()


@pytest.mark.parametrize(
    ("ending", "status"),
    [("q", 0), ("SIGINT", 130), ("SIGTERM", 143), ("SIGHUP", 129)],
)
def test_ending_the_panel_cleans_up_and_restores_the_terminal(
    root: Path, ending: str, status: int
) -> None:
    """Before: SIGTERM left redis-server and the workers running under PID 1, the directory
    in place and the terminal showing the panel's last frame (it needed ``reset``)."""
    demo = start(root, _session(ending))
    try:
        if ending == "q":
            tmux("send-keys", "-t", demo.session, "q")
        else:
            os.kill(demo.panel.pid, getattr(signal, ending))
        until_shown(demo.session, f"EXITED:{status}")
        assert tmux("display", "-p", "-t", demo.session, "#{alternate_on}").strip() == "0"
        assert "4 alive" not in capture(demo.session)  # the panel's frame is not left behind
        assert_nothing_left(demo)
    finally:
        kill_session(demo.session)


def test_closing_the_terminal_cleans_up(root: Path) -> None:
    """tmux kill-session: the panel gets SIGHUP on a terminal that is gone (Textual's
    shutdown used to wait forever on it), and still ends everything it started."""
    demo = start(root, _session("closed"))
    kill_session(demo.session)
    assert_nothing_left(demo)


def test_a_killed_panels_children_exit_and_the_next_demo_removes_its_directory(
    root: Path,
) -> None:
    """SIGKILL: nothing of the panel runs, so redis-server (a parent-death signal) and the
    workers (end-of-file on their stdin) end by themselves; the directory stays until the
    next fleet-demo, which removes the directories of demos that are dead."""
    demo = start(root, _session("killed"))
    try:
        os.kill(demo.panel.pid, signal.SIGKILL)
        poll_until(
            lambda: not any(running(p) for p in demo.children),
            what="redis-server and the workers to exit after the panel's SIGKILL",
        )
        assert naming(str(demo.directory)) == []
        assert (demo.directory / "demo.pid").read_text() == str(demo.panel.pid)
        # the terminal keeper reset what the panel could not: the main screen, the cursor
        # shown, the mouse the terminal's own. (Whether the shell's `EXITED` line is then
        # on screen is a race: written before the reset, it was on the alternate screen.)
        flags = "#{alternate_on} #{mouse_any_flag} #{cursor_flag}"
        poll_until(
            lambda: tmux("display", "-p", "-t", demo.session, flags).split() == ["0", "0", "1"],
            what="the terminal's modes reset after the panel's SIGKILL",
        )
    finally:
        kill_session(demo.session)
    assert process(demo.panel.pid) is None
    again = start(root, _session("again"))
    try:
        assert not demo.directory.exists()
        assert again.directory.exists()
        tmux("send-keys", "-t", again.session, "q")
        until_shown(again.session, "EXITED:0")
        assert_nothing_left(again)
    finally:
        kill_session(again.session)
