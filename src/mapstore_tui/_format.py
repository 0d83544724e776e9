"""Small text formatters shared by the panels.

Every cell the panel draws goes through these, so the rules live in one place: numbers are
compact but never cut (``1.8M``, ``567k/s``), text that does not fit ends in ``…`` (paths
lose their left side: ``…/demo/static_page.py:31``), and counts agree with their nouns.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from rich.cells import cell_len
from rich.text import Text

__all__ = [
    "age",
    "clip",
    "clip_left",
    "clip_middle",
    "compact",
    "json_text",
    "plural",
    "problems_text",
    "rate",
    "short_json",
    "sparkline",
]

_BARS = "▁▂▃▄▅▆▇█"
ELLIPSIS = "…"


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


def compact(count: float) -> str:
    """A count in at most five characters: ``9,999``, ``18.4k``, ``567k``, ``1.8M``, ``2.1G``."""
    if count < 10_000:
        return f"{count:,.0f}" if count == int(count) else f"{count:.1f}"
    for size, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if count >= size:
            scaled = count / size
            return f"{scaled:.0f}{unit}" if scaled >= 99.95 else f"{scaled:.1f}{unit}"
    return f"{count:.0f}"  # pragma: no cover - unreachable: count >= 10,000 here


def rate(per_second: float) -> str:
    """Publishes per second, at most seven characters: ``0/s``, ``0.3/s``, ``14/s``, ``567k/s``."""
    if per_second <= 0:
        return "0/s"
    if per_second < 0.05:
        return "<0.1/s"
    if per_second < 10:
        return f"{per_second:.1f}/s"
    if per_second < 10_000:
        return f"{per_second:.0f}/s"
    return compact(per_second) + "/s"


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``1 producer``, ``2 producers``, ``0 producers`` (``nouns`` for irregular plurals)."""
    return f"{count:,} {noun if count == 1 else nouns or noun + 's'}"


def clip(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells; a cut one ends in ``…``."""
    if cell_len(text) <= width:
        return text
    if width <= 0:
        return ""
    kept = Text(text)
    kept.truncate(width, overflow="ellipsis")
    return kept.plain


def clip_middle(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells, cut in the middle: ``price-t…r-a``.

    For ids and names, which differ at their end as often as at their start
    (``price-ticker-a`` / ``-b``, ``services-1`` / ``-2``): cut at the right they would read
    the same. The end keeps its last part (after a ``-``, ``.``, ``_``, ``:`` or ``@``) when
    it can, between a third and a half of the width.
    """
    if cell_len(text) <= width:
        return text
    if width <= 3:
        return clip(text, width)
    last = max(text.rfind(sep) for sep in "-._:@")
    wanted = len(text) - last + 1 if last > 0 else 0
    tail_len = min(max(width // 3, wanted), width // 2)
    tail = ""
    for char in reversed(text):
        if cell_len(tail) + cell_len(char) > tail_len:
            break
        tail = char + tail
    head = ""
    for char in text:
        if cell_len(head) + cell_len(char) + 1 + cell_len(tail) > width:
            break
        head += char
    return f"{head}…{tail}"


def clip_left(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells, cut from the left: ``…/demo/static_page.py:31``.

    For paths, whose end (file and line) says more than their start; the cut falls on a
    ``/`` when there is one to fall on, so no folder is shown half.
    """
    if cell_len(text) <= width:
        return text
    if width <= 0:
        return ""
    tail = ""
    for char in reversed(text):
        if cell_len(tail) + cell_len(char) + 1 > width:
            break
        tail = char + tail
    slash = tail.find("/")
    if slash > 0:
        tail = tail[slash:]
    return ELLIPSIS + tail


def problems_text(problems: Mapping[str, str] | None, fallback: str = "") -> str:
    """The failing fields of a rejected payload on one line: ``value: …; label: …``.

    The one formatter of ``StoreEvent.problems`` (toasts and the event log use it).
    """
    if not problems:
        return fallback
    return "; ".join(f"{field}: {message}" for field, message in problems.items())


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
    return clip(text, limit)
