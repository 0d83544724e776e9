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

**The terminal keeper** (``TerminalKeeper``): a panel killed outright (SIGKILL) leaves its
terminal in the alternate screen with mouse reporting on and the cursor hidden, and the
shell's prompt drawn over the last frame (the shell itself puts back the tty's termios
settings, not these modes). The keeper is this file run as a script, with a lifeline of its
own as stdin and the terminal as stdout: the panel writes one byte when it has restored the
terminal itself; end-of-file without that byte means it died, and the keeper writes the
sequences Textual's driver writes on exit. It races the shell, which learns of the death at
the same moment: a prompt the shell drew first was drawn on the alternate screen and goes
with it (Enter draws another), but the terminal is usable either way, with no ``reset``.

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

__all__ = ["Lifeline", "TerminalKeeper", "guarded", "watch_stdin"]

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

_RESTORED = b"."
"""What the panel writes to the keeper once the terminal is its own again."""

_RESET = (
    b"\x1b[<u"  # the Kitty keyboard protocol off (before leaving the alternate screen)
    b"\x1b[?1049l"  # the main screen back
    b"\x1b[?25h"  # the cursor shown
    b"\x1b[?1004l"  # focus events off
    b"\x1b[?1000l\x1b[?1003l\x1b[?1015l\x1b[?1006l"  # mouse reporting off
    b"\x1b[?2004l"  # bracketed paste off
    b"\x1b[?2048l"  # in-band resize reports off
    b"\x1b[?7h"  # line wrap on
)
"""Textual's ``LinuxDriver.stop_application_mode``, as bytes."""


class Lifeline:
    """The parent's end of the lifeline: pass ``stdin`` to each child; ``close()`` at the end.

    The write end is never inherited (``os.pipe`` makes it close-on-exec and ``subprocess``
    closes every other descriptor), so it closes exactly when this process closes it or dies.
    """

    def __init__(self) -> None:
        self.stdin, self._write = os.pipe()

    def send(self, data: bytes) -> None:
        """Write ``data`` down the lifeline (a child that listens reads it; OSError if none)."""
        os.write(self._write, data)

    def close(self) -> None:
        """Cut the lifeline (every child watching it reads end-of-file); idempotent."""
        for fd in (self._write, self.stdin):
            if fd >= 0:
                os.close(fd)
        self.stdin = self._write = -1


class TerminalKeeper:
    """Resets the terminal's modes if this process dies before ``restored()`` is called.

    Starts the keeper only when stdout is a terminal; ``restored()`` ends it quietly.
    """

    def __init__(self) -> None:
        self._lifeline: Lifeline | None = None
        self.process: subprocess.Popen[bytes] | None = None
        if not os.isatty(1):
            return
        self._lifeline = Lifeline()
        self.process = subprocess.Popen(
            [sys.executable, "-I", str(Path(__file__)), "terminal", str(os.getpid()), "--"],
            stdin=self._lifeline.stdin,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # the terminal's Ctrl+C and hangup are the panel's
        )

    def restored(self) -> None:
        """The terminal is as it was (the panel ended, however): the keeper leaves it be."""
        if self._lifeline is None:
            return
        try:
            self._lifeline.send(_RESTORED)
        except OSError:
            pass  # the keeper is gone already: nothing would reset the terminal anyway
        self._lifeline.close()
        self._lifeline = None
        if self.process is not None:
            try:
                self.process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _keep_terminal() -> NoReturn:
    """Wait for the panel's end; reset the terminal unless it said it had (see module)."""
    restored = False
    try:
        while chunk := os.read(0, 64):
            restored = restored or _RESTORED in chunk
    except OSError:
        pass
    if not restored:
        try:
            os.write(1, _RESET)
        except OSError:
            pass  # a terminal that hung up: nothing to reset
    sys.exit(0)


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
    if args[:1] == ["terminal"]:
        _keep_terminal()
    if len(args) < 4 or args[0] not in ("prctl", "guard") or args[2] != "--":
        sys.exit(f"usage: {Path(__file__).name} prctl|guard PARENT_PID -- PROGRAM [ARG ...]")
    mode, parent, _, *argv = args
    if mode == "prctl":
        _become(int(parent), argv)
    _guard(int(parent), argv)


if __name__ == "__main__":
    _main(sys.argv[1:])
