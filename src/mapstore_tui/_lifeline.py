"""Children that end when the process that started them dies, however it dies.

A demo that starts ``redis-server`` and worker processes must not leave them running when it
is killed (SIGKILL, a crash, a closed terminal): nothing of the parent runs then, so the
children must notice by themselves. Two mechanisms, one per kind of child:

- **The lifeline** (every platform): a pipe whose write end only the parent holds, given to
  every child as its stdin. When the parent dies, however, the kernel closes that write end
  and each child reads end-of-file. Our own children (the fleet workers) watch their stdin
  with ``watch_stdin``.
- **A parent-death signal** for a program that reads no stdin (``redis-server``): ``guarded``
  starts it through this file run as a script. On Linux the script asks the kernel for
  SIGTERM on its parent's death (``prctl(PR_SET_PDEATHSIG)``) and then *becomes* the program
  (``execv`` keeps that setting), so there is no extra process. Elsewhere, or where ``prctl``
  fails, the script stays as the program's guardian: it watches the lifeline and forwards
  SIGTERM, SIGINT and SIGHUP to the program.

The kernel sends the parent-death signal when the *thread* that started the child ends, so
start guarded programs from a thread that lives as long as they should (the main thread).

This file imports the standard library only: it runs as a script, before ``exec``.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

__all__ = ["Lifeline", "guarded", "watch_stdin"]

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class Lifeline:
    """The parent's end of the lifeline: pass ``stdin`` to each child; ``close()`` at the end.

    The write end is never inherited (``os.pipe`` makes it close-on-exec and ``subprocess``
    closes every other descriptor), so it closes exactly when this process closes it or dies.
    """

    def __init__(self) -> None:
        self.stdin, self._write = os.pipe()

    def close(self) -> None:
        """Cut the lifeline (every child watching it reads end-of-file); idempotent."""
        for fd in (self._write, self.stdin):
            if fd >= 0:
                os.close(fd)
        self.stdin = self._write = -1


def guarded(argv: Sequence[str], *, parent_death_signal: bool = True) -> list[str]:
    """The command that runs ``argv`` so that it ends when this process dies.

    Start it with the lifeline as stdin. ``parent_death_signal=False`` asks for the guardian
    even on Linux (the portable way; the tests run both).
    """
    mode = "prctl" if parent_death_signal and sys.platform == "linux" else "guard"
    return [sys.executable, "-I", str(Path(__file__)), mode, str(os.getpid()), "--", *argv]


def watch_stdin(on_end: Callable[[], None]) -> threading.Thread:
    """Call ``on_end`` (on a daemon thread) once stdin reaches end-of-file: the parent died."""

    def watch() -> None:
        try:
            while os.read(0, 4096):  # the parent never writes; anything read is ignored
                pass
        except OSError:
            pass  # stdin is gone as well: the same news
        on_end()

    thread = threading.Thread(target=watch, name="lifeline", daemon=True)
    thread.start()
    return thread


def _set_parent_death_signal() -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)) == 0
    except (OSError, AttributeError):  # no libc to load, or no prctl in it
        return False


def _become(parent: int, argv: list[str]) -> NoReturn:
    """Die with ``parent`` (Linux), then exec ``argv``; the guardian where prctl fails."""
    if not _set_parent_death_signal():
        _guard(parent, argv)
    if os.getppid() != parent:  # the parent died before prctl took hold: nobody to serve
        sys.exit(0)
    os.execv(argv[0], argv)


def _guard(parent: int, argv: list[str]) -> NoReturn:
    """Run ``argv`` as a child; end it (SIGTERM) when stdin closes or a stop signal comes."""
    child = subprocess.Popen(argv, stdin=subprocess.DEVNULL)

    def stop(*_: object) -> None:
        if child.poll() is None:
            child.terminate()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, stop)
    watch_stdin(stop)
    if os.getppid() != parent:
        stop()
    code = child.wait()
    sys.exit(code if code >= 0 else 128 - code)  # as a shell reports a signalled program


def _main(args: list[str]) -> NoReturn:
    if len(args) < 4 or args[0] not in ("prctl", "guard") or args[2] != "--":
        sys.exit(f"usage: {Path(__file__).name} prctl|guard PARENT_PID -- PROGRAM [ARG ...]")
    mode, parent, _, *argv = args
    if mode == "prctl":
        _become(int(parent), argv)
    _guard(int(parent), argv)


if __name__ == "__main__":
    _main(sys.argv[1:])
