"""Publish rates per channel, sampled from publish counts (no per-publish work)."""

from __future__ import annotations

from collections import deque

__all__ = ["RateTracker"]


class RateTracker:
    """Turns successive publish counts into rates, keeping a short history per channel."""

    def __init__(self, keep: int = 30) -> None:
        self._keep = keep
        self._last: dict[str, int] = {}
        self._last_time: float | None = None
        self.rates: dict[str, deque[float]] = {}

    def sample(self, counts: dict[str, int], now: float) -> bool:
        """Record one sample; returns False when no time has passed (a frozen clock)."""
        if self._last_time is None:
            self._last, self._last_time = dict(counts), now
            return False
        elapsed = now - self._last_time
        if elapsed <= 0:
            return False
        for name, count in counts.items():
            per_second = max(0, count - self._last.get(name, count)) / elapsed
            self.rates.setdefault(name, deque(maxlen=self._keep)).append(per_second)
        self._last, self._last_time = dict(counts), now
        return True

    def current(self, name: str) -> float:
        """The channel's latest rate (0 before two samples)."""
        history = self.rates.get(name)
        return history[-1] if history else 0.0

    def total(self) -> float:
        """The store's latest total rate."""
        return sum(history[-1] for history in self.rates.values() if history)
