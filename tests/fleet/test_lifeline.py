"""``_lifeline``: a real redis-server ends when the real process that started it is SIGKILLed,
by the parent-death signal (Linux) and by the portable guardian alike; a real fleet worker
ends when its stdin (the lifeline) closes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mapstore_tui.fleet_demo import find_redis_server
from tests.link.helpers import RedisServer
from tests.poll import poll_until
from tests.processes import Process, children, process, running

PARENT = textwrap.dedent(
    """
    import subprocess, sys, time
    from mapstore_tui._lifeline import Lifeline, guarded

    binary, directory, mode = sys.argv[1:]
    lifeline = Lifeline()
    argv = [binary, "--port", "0", "--unixsocket", directory + "/r.sock", "--save", "",
            "--appendonly", "no", "--dir", directory]
    redis = subprocess.Popen(
        guarded(argv, parent_death_signal=mode == "prctl"),
        stdin=lifeline.stdin,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    print(redis.pid, flush=True)
    time.sleep(600)
    """
)


def _start(tmp_path: Path, mode: str) -> tuple[subprocess.Popen[str], Process, list[Process]]:
    """A parent process that started a guarded redis-server: it, the child, and redis."""
    binary = find_redis_server()
    assert binary is not None, "pip install -e '.[dev]' installs a redis-server"
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, binary, str(tmp_path), mode],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    child = process(int(parent.stdout.readline()))
    assert child is not None
    poll_until((tmp_path / "r.sock").exists, what="redis-server's socket")
    # prctl: the child *is* redis-server (exec); guard: redis-server is the guardian's child
    redis = poll_until(
        lambda: [p for p in [child, *children(child.pid)] if "redis-server" in p.cmdline],
        what="redis-server's process",
    )
    return parent, child, redis


@pytest.mark.parametrize("mode", ["prctl", "guard"])
def test_a_guarded_redis_ends_when_its_parent_is_killed(tmp_path: Path, mode: str) -> None:
    if mode == "prctl" and sys.platform != "linux":
        pytest.skip("the parent-death signal is Linux's")
    parent, child, redis = _start(tmp_path, mode)
    try:
        assert (mode == "prctl") == (redis == [child])
        parent.kill()
        parent.wait()
        poll_until(
            lambda: not any(running(p) for p in [child, *redis]),
            what=f"redis-server to end after its parent's SIGKILL ({mode})",
        )
        assert not (tmp_path / "r.sock").exists()  # it shut down (SIGTERM), not killed
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        if parent.stdout is not None:
            parent.stdout.close()


def test_the_guardian_passes_sigterm_on(tmp_path: Path) -> None:
    """The demo's close() stops redis-server with SIGTERM: under a guardian, it reaches it."""
    parent, guardian, redis = _start(tmp_path, "guard")
    try:
        assert redis != [guardian]
        os.kill(guardian.pid, signal.SIGTERM)
        poll_until(
            lambda: not any(running(p) for p in [guardian, *redis]),
            what="redis-server and its guardian to end",
        )
        assert not (tmp_path / "r.sock").exists()
    finally:
        parent.kill()
        parent.wait()
        if parent.stdout is not None:
            parent.stdout.close()


def test_a_worker_stops_when_its_stdin_closes(redis_server: RedisServer) -> None:
    """A fleet worker started with ``--until-stdin-closes`` stops (cleanly) at end-of-file:
    what it reads when the demo that holds the other end of its stdin dies."""
    command = ["-m", "mapstore_tui.fleet_worker", redis_server.url, "ns", "web-1", "web"]
    worker = subprocess.Popen(
        [sys.executable, *command, "--until-stdin-closes"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert worker.stdout is not None and worker.stdout.readline() == "ready\n"
        assert worker.stdin is not None
        worker.stdin.close()
        assert worker.wait(timeout=30) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        if worker.stdout is not None:
            worker.stdout.close()


@pytest.mark.parametrize("said_restored", [True, False])
def test_the_terminal_keeper_resets_only_when_the_panel_could_not(said_restored: bool) -> None:
    """A panel killed outright left the terminal in the alternate screen, mouse on, cursor
    hidden. The keeper writes Textual's exit sequences when its lifeline ends without the
    panel's "restored" byte, and nothing when the panel said it put the terminal back."""
    from mapstore_tui import _lifeline

    lifeline = _lifeline.Lifeline()
    keeper = subprocess.Popen(
        [sys.executable, "-I", _lifeline.__file__, "terminal", str(os.getpid()), "--"],
        stdin=lifeline.stdin,
        stdout=subprocess.PIPE,  # a terminal in use; a pipe here, to read what it wrote
    )
    if said_restored:
        lifeline.send(b".")
    lifeline.close()  # the panel's end: closed here, or by the kernel for a killed one
    written, _ = keeper.communicate(timeout=30)
    assert keeper.returncode == 0
    if said_restored:
        assert written == b""
    else:
        assert written.startswith(b"\x1b[<u\x1b[?1049l\x1b[?25h")
        assert b"\x1b[?1003l" in written and b"\x1b[?2004l" in written
