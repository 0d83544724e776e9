"""Publish rates, from publish counts read now and then (no per-publish work).

Two figures per key (a channel, or a producer):

- ``current``: publishes over the last ``window`` seconds, counted up to the very latest
  read. A channel that published a moment ago never shows ``0/s`` beside an age of ``now``;
  a slow one (every 3 s) shows ``0.3/s`` steadily instead of flickering between 1 and 0.
- ``rates``: one rate per ``sample`` (about a second), kept for the sparkline.

A rate is shown as ``—`` until it is *known*, and never as a false ``0/s``. It is known once

- the key has published at all (a producer that never published has no rate: ``—``), and
- the readings span ``min_span`` (a sample), and
- either they span the whole ``window`` (then "no publish in the last 10 s" is a fact: ``0/s``),
  or ``min_publishes`` publishes were counted within them (a pace has been seen).

So a producer publishing 4 times a second shows ``4.0/s`` after a second; one that publishes
every 3 s shows ``—`` until it has been seen publishing twice (about 6 s), then ``0.3/s``
or so; one that published once long ago shows ``—`` for the first 10 s, then ``0/s``. The
caller reads every key each sample, whether or not a view shows it, so a tab opened late
shows what is already known.

A count that goes down belongs to another store (an attached app that restarted): its key
starts over, as a new one.
"""

from __future__ import annotations

from collections import deque

__all__ = ["RateTracker"]


class RateTracker:
    """Turns successive publish counts into rates (see the module docstring)."""

    def __init__(
        self,
        keep: int = 30,
        window: float = 10.0,
        min_span: float = 1.0,
        min_publishes: int = 2,
    ) -> None:
        self._keep = keep
        self.window = window
        self.min_span = min_span
        self.min_publishes = min_publishes
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

        Unknown (see the module docstring): ``count`` is 0; no readings span ``min_span``
        yet; they span less than ``window`` and saw fewer than ``min_publishes`` publishes;
        or ``count`` went down (another store, not yet sampled).
        """
        seen = self._seen.get(name)
        if count <= 0 or not seen or count < seen[-1][1]:
            return None
        since, base = seen[0]
        span = now - since
        if span < self.min_span:
            return None
        if span < self.window and count - base < self.min_publishes:
            return None  # too short a look at this pace: 0/s (or 1/span) would be a guess
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
