"""What a descriptive producer id is: the one rule the runtime doctor and ``mapstore-lint`` share.

Standard library only, and importing it loads nothing else of ``mapstore_core`` (the package
root is lazy), so the linter can use it without pydantic.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["is_non_descriptive"]

_GENERIC = re.compile(
    r"(?:producer|temp|tmp|test|foo|bar|id|p|x)[-_ .:]?\d*",
    re.IGNORECASE,
)
_UUID = re.compile(
    r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}",
    re.IGNORECASE,
)
_HEX = re.compile(r"(?:0x)?[0-9a-f]+", re.IGNORECASE)


@lru_cache(maxsize=16384)
def is_non_descriptive(producer_id: str) -> bool:
    """Say whether an id is one the guide calls generic (``producer1``, ``temp``, a bare UUID).

    Bare hex counts when it has at least six digits and looks machine-made (it contains a
    decimal digit, or is eight or more long), so words such as ``facade`` are not flagged.
    """
    text = producer_id.strip()
    if not text or text.isdigit():
        return True
    if _GENERIC.fullmatch(text) or _UUID.fullmatch(text):
        return True
    if _HEX.fullmatch(text):
        digits = text[2:] if text.lower().startswith("0x") else text
        return len(digits) >= 6 and (any(ch.isdigit() for ch in digits) or len(digits) >= 8)
    return False
