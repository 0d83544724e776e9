"""How a command ends on SIGINT, SIGTERM and SIGHUP: the way ``q`` or Ctrl+C would.

Python's default for SIGTERM and SIGHUP (a closed terminal) is to die at once: no
``finally`` runs, so a panel leaves the terminal in its alternate screen with the last frame
on it, and a demo leaves its processes and files. And a command started in the background
by a script inherits SIGINT *ignored*, so ``kill -INT`` did nothing. Here the three signals
are handled alike:

- ``run_panel(app)``: while the Textual app runs, a stop signal calls ``app.exit()`` on
  its event loop, so Textual restores the terminal. A closed terminal (SIGHUP with the tty
  hung up) has nothing to restore and fails every write: Textual's writer thread died of
  that and its shutdown waited forever on the thread's full queue (the kernel's SIGCONT
  that comes with the hangup makes Textual "resume" onto the dead tty first). So on that
  SIGHUP the panel's terminal descriptors are pointed at ``/dev/null`` before anything
  else runs (a Python-level handler: it runs before Textual's SIGCONT one), and it ends;
- ``stop_raises()``: anywhere else (starting, waiting) it raises ``Stopped``, which unwinds
  through the command's ``finally`` blocks; ``cli.main`` turns it into exit status 128+N;
- ``held()``: cleanup runs to its end; a signal arriving meanwhile is acted on after it;
- ``wait_until_stopped()``: a headless command's "run until told to stop".

A panel killed outright (SIGKILL) runs nothing at all: ``run_panel`` leaves its terminal to
a ``_lifeline.TerminalKeeper``, which resets it.

Signal handlers can be set from the main thread only; elsewhere these do nothing extra.
"""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.app import App

__all__ = ["STOP_SIGNALS", "Stopped", "held", "run_panel", "stop_raises", "wait_until_stopped"]

STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)
"""The signals that stop a command (Windows has no SIGHUP)."""

Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


class Stopped(BaseException):
    """A stop signal arrived; raised to unwind the command (it is not an error).

    A ``BaseException``, as ``KeyboardInterrupt`` is: a signal that lands inside an
    ``except Exception`` (the panel's "never crash on data" guards) must not be swallowed.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.exit_status = 128 + signum
        """What a shell reports for a command a signal ended."""


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def _handling(handler: Callable[[int, FrameType | None], None]) -> Iterator[None]:
    if not _in_main_thread():
        yield
        return
    previous: dict[int, Handler] = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, was in previous.items():
            signal.signal(sig, was)


def _raise(signum: int, _frame: FrameType | None) -> None:
    raise Stopped(signum)


@contextmanager
def stop_raises() -> Iterator[None]:
    """Inside, SIGINT, SIGTERM and SIGHUP raise ``Stopped`` (the previous handlers after)."""
    with _handling(_raise):
        yield


@contextmanager
def held() -> Iterator[None]:
    """Cleanup a stop signal must not cut short: one arriving inside raises ``Stopped`` after.

    Only when the cleanup itself ended normally; an exception already on its way wins.
    """
    caught: list[int] = []
    with _handling(lambda signum, _frame: caught.append(signum)):
        yield
    if caught:
        raise Stopped(caught[0])


def wait_until_stopped(seconds: float | None = None) -> int | None:
    """Sleep until a stop signal (its number) or for ``seconds`` (None)."""
    try:
        with stop_raises():
            if seconds is not None:
                time.sleep(seconds)
                return None
            while True:
                time.sleep(3600)
    except Stopped as stopped:
        return stopped.signum


def run_panel(app: App[Any]) -> int:
    """Run ``app``; a stop signal ends it as ``q`` does, with exit status 128+N.

    Returns the app's return code (0 after ``q``).
    """

    async def run() -> None:
        loop = asyncio.get_running_loop()

        def stop(signum: int, _frame: FrameType | None) -> None:
            if signum == getattr(signal, "SIGHUP", None):
                _leave_a_hung_up_terminal()
            loop.call_soon_threadsafe(lambda: app.exit(return_code=128 + signum))

        with _handling(stop):
            await app.run_async()

    from mapstore_tui._lifeline import TerminalKeeper  # ctypes: only for a panel

    keeper = None if os.environ.get("TEXTUAL_DRIVER") else TerminalKeeper()
    try:
        asyncio.run(run())
    finally:
        if keeper is not None:  # Textual has put the terminal back, even after a crash
            keeper.restored()
    return app.return_code or 0


def _leave_a_hung_up_terminal() -> None:
    """Point stdin, stdout and stderr at ``/dev/null`` if they are a tty that hung up."""
    import termios  # POSIX, as SIGHUP is

    try:
        termios.tcgetattr(0)
        return  # a live terminal (a SIGHUP someone sent): Textual restores it
    except termios.error as exc:
        if exc.args[0] != errno.EIO:  # not a terminal at all (a test): nothing to do
            return
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
