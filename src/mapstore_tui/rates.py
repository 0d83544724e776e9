"""Publish rates, from publish counts read now and then (no per-publish work).

Two figures per key (a channel, or a producer):

- ``current``: publishes over the last ``window`` seconds, counted up to the very latest
  read. A channel that published a moment ago never shows ``0/s`` beside an age of ``now``;
  a slow one (every 3 s) shows ``0.3/s`` steadily instead of flickering between 1 and 0.
- ``rates``: one rate per ``sample`` (about a second), kept for the sparkline.

A rate is only *known* once readings span ``min_span`` (a sample): over a shorter span a
producer that publishes every few seconds reads ``0/s`` though it published a moment ago.
A count that goes down belongs to another store (an attached app that restarted): its key
starts over, as a new one.
"""

from __future__ import annotations

from collections import deque

__all__ = ["RateTracker"]


class RateTracker:
    """Turns successive publish counts into rates (see the module docstring)."""

    def __init__(self, keep: int = 30, window: float = 10.0, min_span: float = 1.0) -> None:
        self._keep = keep
        self.window = window
        self.min_span = min_span
        self._last: dict[str, int] = {}
        self._last_time: float | None = None
        self._seen: dict[str, deque[tuple[float, int]]] = {}
        self.rates: dict[str, deque[float]] = {}

    def sample(self, counts: dict[str, int], now: float) -> bool:
        """Record one sample of every key; False when no time has passed (a frozen clock)."""
        for name, count in counts.items():
            self.observe(name, count, now)
        if self._last_time is None:
            self._last, self._last_time = dict(counts), now
            return False
        elapsed = now - self._last_time
        if elapsed <= 0:
            return False
        for name, count in counts.items():
            before = self._last.get(name, count)
            if count < before:  # another store: its sparkline starts over
                self.rates.pop(name, None)
                continue
            per_second = (count - before) / elapsed
            self.rates.setdefault(name, deque(maxlen=self._keep)).append(per_second)
        self._last, self._last_time = dict(counts), now
        return True

    def observe(self, name: str, count: int, now: float) -> None:
        """Remember that ``name`` had published ``count`` times at ``now``."""
        seen = self._seen.get(name)
        if seen is None or count < seen[-1][1]:  # new, or another store's count
            self._seen[name] = deque([(now, count)])
            return
        if now > seen[-1][0]:
            seen.append((now, count))
        # keep one reading at or before the window's start, so the span covers the window
        while len(seen) > 2 and seen[1][0] <= now - self.window:
            seen.popleft()

    def current(self, name: str, count: int | None = None, now: float | None = None) -> float:
        """Publishes per second over the last ``window`` seconds (0 before two readings).

        ``count`` and ``now`` are the latest reading, if newer than the last ``observe``.
        """
        seen = self._seen.get(name)
        if not seen:
            return 0.0
        if count is None or now is None:
            now, count = seen[-1]
        since, base = seen[0]
        for when, seen_count in seen:
            if when <= now - self.window:
                since, base = when, seen_count
        elapsed = now - since
        if elapsed <= 0:
            return 0.0
        return max(0, count - base) / elapsed

    def known_rate(self, name: str, count: int, now: float) -> float | None:
        """``current`` up to the reading (``count`` at ``now``), or None while it is unknown.

        Unknown: no readings span ``min_span`` yet, or ``count`` went down (another store,
        not yet sampled).
        """
        seen = self._seen.get(name)
        if not seen or count < seen[-1][1] or now - seen[0][0] < self.min_span:
            return None
        return self.current(name, count, now)

    def total(self) -> float:
        """The store's total rate over the window (the sum of the channels' ``current``)."""
        return sum(self.current(name) for name in self._seen)

    def forget(self, keep: set[str]) -> None:
        """Drop keys no longer shown (closed producers)."""
        for name in list(self._seen):
            if name not in keep:
                del self._seen[name]
                self.rates.pop(name, None)
