"""The one way a test waits for something another thread, task or process does: poll a check.

``poll_until`` (threads, processes) and ``apoll_until`` (pilot and other async tests) call
``check()`` until it returns something truthy and return that value. They wait ``interval``
between two checks (``time.sleep`` or the ``pause`` they are given, e.g. ``pilot.pause``, so
the app keeps running meanwhile) and give up after ``timeout`` with an ``AssertionError``
naming ``what`` and the last value ``check()`` returned.

The timeout is a bound on a wait for delivery, never a timing assertion: ``WAIT`` is
generous, so a slow machine only makes a test slower, and the only thing it ever decides is
"never". A test that means to let time pass (a rate, a duration it is about) sleeps
explicitly and says so; a test that waits for a condition polls it here.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

__all__ = ["INTERVAL", "WAIT", "apoll_until", "poll_until"]

WAIT = 30.0  # generous: a bounded wait for delivery, not a timing assertion
INTERVAL = 0.02  # between two checks

T = TypeVar("T")


def poll_until(
    check: Callable[[], T], *, what: str, timeout: float = WAIT, interval: float = INTERVAL
) -> T:
    """Call ``check`` until it returns something truthy; return that, or fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise _gave_up(what, timeout, value)
        time.sleep(interval)


async def apoll_until(
    check: Callable[[], T],
    *,
    what: str,
    pause: Callable[[float], Awaitable[object]],
    timeout: float = WAIT,
    interval: float = INTERVAL,
) -> T:
    """``poll_until`` for async tests: ``await pause(interval)`` between two checks.

    ``pause`` is ``pilot.pause`` in a pilot test (the app runs, and its screen catches up,
    meanwhile), or ``asyncio.sleep`` where the app must not be waited for (a flood).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise _gave_up(what, timeout, value)
        await pause(interval)


def _gave_up(what: str, timeout: float, last: object) -> AssertionError:
    return AssertionError(f"{what}: not reached within {timeout:g} s (last seen: {last!r})")
