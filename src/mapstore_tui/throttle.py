"""``RedrawThrottle``: how often the panel may redraw, on an injected clock.

Publishers and the panel share one interpreter lock: every millisecond spent redrawing is one
a publisher waits. So redraws are at most one per ``interval`` and, under a flood, further
apart: the throttle watches the panel's own CPU share and stretches the gap (up to
``longest``) while it is above ``budget``, and shrinks it back when things calm down.
No Textual here: the clocks are arguments, so the policy is tested on its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["CPU_BUDGET", "RedrawThrottle"]

CPU_BUDGET = 0.15
"""The share of one core the panel aims to stay under."""


class RedrawThrottle:
    """Decides when the next redraw may run (see the module docstring).

    Args:
        interval: Least time between two redraws; 0 redraws on every change (tests).
        clock: Wall time, in seconds.
        cpu_clock: CPU time of the UI thread, in seconds.
        budget: The CPU share above which redraws are spaced out.
        longest: The widest the gap between redraws grows.
    """

    def __init__(
        self,
        interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        cpu_clock: Callable[[], float] = time.thread_time,
        budget: float = CPU_BUDGET,
        longest: float = 1.0,
    ) -> None:
        self.interval = interval
        self.gap = interval
        """The current least time between redraws."""
        self._clock = clock
        self._cpu = cpu_clock
        self._budget = budget
        self._longest = longest
        self._last = float("-inf")
        self._probe: tuple[float, float] | None = None

    def wait(self) -> float:
        """Seconds until a redraw may run (0: now)."""
        return max(0.0, self._last + self.gap - self._clock())

    def redrawn(self) -> None:
        """Record a redraw now, and adapt the gap to the CPU spent since the last probe."""
        now = self._clock()
        self._last = now
        if self.interval <= 0:
            return
        cpu = self._cpu()
        if self._probe is None:
            self._probe = (now, cpu)
            return
        wall_then, cpu_then = self._probe
        if now - wall_then < 0.5:
            return
        share = (cpu - cpu_then) / (now - wall_then)
        if share > self._budget:
            self.gap = min(self._longest, self.gap * 1.5)
        elif share < self._budget / 2:
            self.gap = max(self.interval, self.gap / 1.5)
        self._probe = (now, cpu)
