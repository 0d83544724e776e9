"""Payloads as JSON data: what snapshots, the reader and every transport send."""

from __future__ import annotations

from typing import Any

from pydantic_core import to_jsonable_python

__all__ = ["jsonable"]


def jsonable(value: Any) -> Any:
    """Any payload as JSON data (models dumped, unknown objects as strings, NaN as null).

    Models dump their field names (``change_type``), not their camelCase aliases.
    """
    return to_jsonable_python(value, by_alias=False, serialize_unknown=True, inf_nan_mode="null")
