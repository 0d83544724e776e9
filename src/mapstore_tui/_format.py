"""Small text formatters shared by the panels."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

__all__ = ["age", "json_text", "rate", "short_json", "sparkline"]

_BARS = "▁▂▃▄▅▆▇█"


def age(seconds: float | None) -> str:
    """``"—"``, ``"now"``, ``"12s"``, ``"3m"``, ``"2h"``, ``"4d"``."""
    if seconds is None:
        return "—"
    if seconds < 1:
        return "now"
    for size, unit in ((86_400, "d"), (3_600, "h"), (60, "m")):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def rate(per_second: float) -> str:
    """Publishes per second, short."""
    if per_second <= 0:
        return "0"
    if per_second >= 1_000:
        return f"{per_second / 1000:.1f}k"
    if per_second >= 10:
        return f"{per_second:.0f}"
    return f"{per_second:.1f}"


def sparkline(values: Sequence[float], width: int = 8) -> str:
    """A text sparkline of the last ``width`` values (blank when all are zero)."""
    shown = list(values)[-width:]
    top = max(shown, default=0.0)
    if top <= 0:
        return " " * width
    bars = "".join(_BARS[min(7, int(v / top * 7.999))] if v > 0 else " " for v in shown)
    return bars.rjust(width)


def json_text(value: Any) -> str:
    """Pretty JSON for people (keys in their order, unicode kept)."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def short_json(value: Any, limit: int = 60) -> str:
    """One-line JSON, cut to ``limit`` characters."""
    text = json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 1] + "…"
