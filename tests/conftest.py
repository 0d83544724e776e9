from __future__ import annotations

import pytest

from mapstore_core import MapObjectStore


class FakeClock:
    """A settable clock, so timestamps and churn windows are deterministic."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> MapObjectStore:
    return MapObjectStore(history_size=5, clock=clock)


@pytest.fixture
def on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process panel commands as in a terminal (pytest's stdin and stdout are not one)."""
    monkeypatch.setattr("mapstore_tui.cli._need_a_terminal", lambda command: None)
