from __future__ import annotations

from typing import Any

from mapstore_tui.demo_app import DemoApp

from ..conftest import FakeClock

SIZE = (140, 45)
SMALL = (80, 24)


def make_demo(
    *, antipatterns: bool = False, clock: FakeClock | None = None, **kwargs: Any
) -> DemoApp:
    """A deterministic demo: fixed seed and clock, no threads, immediate redraws."""
    app = DemoApp(
        seed=1,
        antipatterns=antipatterns,
        live=False,
        clock=clock or FakeClock(),
        refresh_interval=kwargs.pop("refresh_interval", 0.0),
        **kwargs,
    )
    app.animation_level = "none"
    return app


class Toasts:
    """Records app.notify calls."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, message: str, **kwargs: Any) -> None:
        self.calls.append({"message": message, **kwargs})

    def titles(self) -> list[str]:
        return [call.get("title", "") for call in self.calls]
