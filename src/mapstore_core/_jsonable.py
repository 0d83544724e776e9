"""Payloads as JSON data: what snapshots, the reader and every transport send."""

from __future__ import annotations

from typing import Any

from pydantic_core import to_jsonable_python

__all__ = ["jsonable"]


def jsonable(value: Any) -> Any:
    """Any payload as JSON data (models dumped, unknown objects as strings, NaN as null).

    Models dump their field names (``change_type``), not their camelCase aliases. What cannot
    be JSON at all (a cycle, bytes that are not UTF-8, a key with a lone surrogate) becomes a
    string that says so, as deep inside a dict or list as it is (a few levels): one odd value
    never breaks a snapshot, a reader's answer or an event.
    """
    if type(value) is dict and len(value) <= _FLAT:
        flat = _flat_copy(value)
        if flat is not None:
            return flat
    data = _jsonable(value, _DESCEND)
    return _without_huge_ints(data) if _has_huge_int(data) else data


_FLAT = 32


def _flat_copy(value: dict[Any, Any]) -> dict[str, Any] | None:
    """A copy of a flat dict that is JSON data already, else None (the general path).

    The common payload (``{"n": 1, "label": "x"}``): what the general path would return,
    for a third of its cost (a transport pays it on every update). ASCII keys only: the
    general path rewrites a key it cannot encode.
    """
    for key, item in value.items():
        if type(key) is not str or not key.isascii():
            return None
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int:
            if -_HUGE < item < _HUGE:
                continue
        elif kind is float and item - item == 0.0:  # finite: NaN and infinities become null
            continue
        return None
    return dict(value)


_DESCEND = 8
_FAILURES = (ValueError, TypeError, UnicodeError, RecursionError)
MAX_INT_DIGITS = 100
"""Longer integers travel as text that says so: readers (the debug client) refuse them."""
_HUGE = 10**MAX_INT_DIGITS


def _has_huge_int(data: Any) -> bool:
    """Whether JSON data holds an integer of more than ``MAX_INT_DIGITS`` digits.

    Without recursion: the data may be deep.
    """
    stack = [data]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is int:
            if not -_HUGE < item < _HUGE:
                return True
        elif kind is dict:
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
    return False


def _without_huge_ints(data: Any, depth: int = 0) -> Any:
    kind = type(data)
    if kind is int and not -_HUGE < data < _HUGE:
        digits = int(data.bit_length() * 0.30103) + 1
        return f"<int of about {digits:,} digits, longer than JSON here carries>"
    if depth > 500:  # deeper than any reader accepts anyway
        return data
    if kind is dict:
        return {key: _without_huge_ints(item, depth + 1) for key, item in data.items()}
    if kind is list:
        return [_without_huge_ints(item, depth + 1) for item in data]
    return data


def _jsonable(value: Any, descend: int) -> Any:
    try:
        return to_jsonable_python(
            value, by_alias=False, serialize_unknown=True, inf_nan_mode="null"
        )
    except _FAILURES as exc:
        if descend and isinstance(value, dict):
            return {_text(str(k)): _jsonable(v, descend - 1) for k, v in value.items()}
        if descend and isinstance(value, list | tuple):
            return [_jsonable(item, descend - 1) for item in value]
        return f"<{type(value).__name__} that JSON cannot carry: {_text(str(exc))[:200]}>"


def _text(text: str) -> str:
    r"""``text`` with lone surrogates as visible ``\udXXX``."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
