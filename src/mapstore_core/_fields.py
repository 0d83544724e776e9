"""Turn pydantic's error locations into the field paths a person wrote.

pydantic tags union branches in ``loc``: ``value: float | int | str`` given a list fails as
``value.float``, ``value.int`` and ``value.str``. Walking the model's annotations tells a
field name from a branch tag, so the error says ``value`` once, with every branch's reason.
An unknown field that looks like a real one (``changeTyp``, ``change-type``) gets a
"did you mean" hint.
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Mapping, Sequence
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

__all__ = ["field_problems"]

_SEQUENCES = (list, tuple, set, frozenset)


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _field_path(model: type[BaseModel], loc: Sequence[int | str]) -> tuple[int | str, ...]:
    path: list[int | str] = []
    tp: Any = model
    parts: list[int | str] = list(loc)
    while parts:
        part = parts[0]
        origin = get_origin(tp)
        if origin in (Union, types.UnionType):
            branches = [a for a in get_args(tp) if a is not type(None)]
            if len(branches) == 1:  # Optional[X]: pydantic does not tag it
                tp = branches[0]
                continue
            if isinstance(part, str):  # a branch tag: skip it, follow the branch if named
                parts.pop(0)
                tp = next((a for a in branches if getattr(a, "__name__", None) == part), Any)
                continue
        parts.pop(0)
        path.append(part)
        args: tuple[Any, ...]
        if _is_model(tp) and isinstance(part, str) and part in tp.model_fields:
            tp = tp.model_fields[part].annotation
        elif origin in _SEQUENCES and isinstance(part, int):
            args = get_args(tp)
            tp = args[0] if args else Any
        elif origin is dict:
            args = get_args(tp)
            tp = args[1] if len(args) == 2 else Any
        else:
            tp = Any
    return tuple(path)


def _model_at(model: type[BaseModel], path: Sequence[int | str]) -> type[BaseModel] | None:
    """The model that holds the field at ``path`` (None when it is not a model)."""
    tp: Any = model
    for part in path:
        if _is_model(tp) and isinstance(part, str) and part in tp.model_fields:
            tp = tp.model_fields[part].annotation
        elif get_origin(tp) in _SEQUENCES and isinstance(part, int):
            tp = (get_args(tp) or (Any,))[0]
        else:
            return None
        if get_origin(tp) in (Union, types.UnionType):
            models = [a for a in get_args(tp) if _is_model(a)]
            tp = models[0] if len(models) == 1 else tp
    return tp if _is_model(tp) else None


def _squash(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


def _did_you_mean(model: type[BaseModel] | None, unknown: str) -> str:
    """`` (did you mean `change_type`?)`` for a near miss of a real field, else ``""``."""
    if model is None:
        return ""
    fields = list(model.model_fields)
    squashed = {_squash(name): name for name in fields}
    match = squashed.get(_squash(unknown))
    if match is None:
        close = difflib.get_close_matches(_squash(unknown), list(squashed), n=1, cutoff=0.75)
        match = squashed[close[0]] if close else None
    return "" if match is None else f" (did you mean `{match}`?)"


def field_problems(model: type[BaseModel], errors: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Map each failing field path (``rows.2``, or ``(payload)``) to its message(s)."""
    problems: dict[str, list[str]] = {}
    for err in errors:
        path = _field_path(model, tuple(err.get("loc", ())))
        name = ".".join(str(part) for part in path) or "(payload)"
        messages = problems.setdefault(name, [])
        message = str(err.get("msg", ""))
        if err.get("type") == "extra_forbidden" and path and isinstance(path[-1], str):
            message += _did_you_mean(_model_at(model, path[:-1]), path[-1])
        if message not in messages:
            messages.append(message)
    return {name: "; or ".join(messages) for name, messages in problems.items()}
