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
    return _jsonable(value, _DESCEND)


_DESCEND = 8
_FAILURES = (ValueError, TypeError, UnicodeError, RecursionError)


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
