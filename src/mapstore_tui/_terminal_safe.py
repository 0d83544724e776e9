r"""Control characters in what the panel shows are drawn as symbols, never sent raw.

The panel shows names and values that come from other processes (over a debug endpoint or
from Redis) and producer ids anyone chose. Textual and rich strip only five control codes
(bell, backspace, vertical tab, form feed, carriage return) from text; an escape character
goes to the terminal as it is, so a producer named ``"feed\x1b]0;owned"`` could retitle the
window or, worse, clear or rewrite the screen. Both libraries strip through one translation
table each; this adds every other C0 and C1 control character (but tab and line feed) to
them, drawn as its Unicode control picture (``␛`` for escape). One place, applied when a
panel is made; ``tests/tui/test_terminal_safe.py`` checks the effect on drawn segments,
so a Textual or rich that changes its tables fails there, not silently.
"""

from __future__ import annotations

from typing import cast

import rich.control
import textual.content

__all__ = ["PICTURES", "install"]

PICTURES: dict[int, str] = {
    **{code: chr(0x2400 + code) for code in range(0x20) if code not in (0x09, 0x0A)},
    0x7F: "\u2421",  # ␡
    **{code: "\ufffd" for code in range(0x80, 0xA0)},  # C1: no pictures; the replacement
}
"""Control character -> what is drawn for it."""


def install() -> None:
    """Add ``PICTURES`` to Textual's and rich's tables (what they strip stays stripped)."""
    tables: list[dict[int, str | None]] = [
        cast(dict[int, str | None], textual.content._CONTROL_STRIP_TRANSLATE),
        cast(dict[int, str | None], rich.control._CONTROL_STRIP_TRANSLATE),
    ]
    for table in tables:
        for code, picture in PICTURES.items():
            table.setdefault(code, picture)
