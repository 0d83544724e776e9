"""``@public``: a public class reports ``mapstore_core`` as its module, from its definition on.

Tracebacks, ``repr`` and pickle then name the address users import from, whichever private
module defines the class and whether or not the package root has been touched yet.
"""

from __future__ import annotations

import sys
import typing
from typing import TypeVar

__all__ = ["adopt", "public"]

PACKAGE = "mapstore_core"
_T = TypeVar("_T", bound=type)


def adopt(cls: type) -> None:
    """Make ``cls`` report ``mapstore_core`` as its module (tracebacks, ``repr``, pickle).

    Its own annotations written as text (``from __future__ import annotations``; a
    ``NamedTuple`` holds them as ``ForwardRef``) are evaluated first, in the module that
    defined it: ``typing.get_type_hints`` and pydantic evaluate them in
    ``sys.modules[cls.__module__]``, which would then be the package. One that names
    something imported for type checkers only cannot be evaluated there either; it stays text.
    """
    own = vars(cls).get("__annotations__")
    if own:
        namespace = vars(sys.modules[cls.__module__])
        for key, value in own.items():
            text = value.__forward_arg__ if isinstance(value, typing.ForwardRef) else value
            if isinstance(text, str):
                try:
                    own[key] = eval(text, namespace, dict(vars(cls)))
                except NameError:
                    continue  # left as written, exactly as it was before
    cls.__module__ = PACKAGE


def public(cls: _T) -> _T:
    """Class decorator: ``cls`` is part of ``mapstore_core``'s public face (see ``adopt``)."""
    adopt(cls)
    return cls
