"""``jsonable``: payloads as JSON data. Its shortcut for flat dicts answers as the general path."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mapstore_core import _jsonable
from mapstore_core._jsonable import jsonable

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**120), 10**120)  # past MAX_INT_DIGITS: text
    | st.floats()  # NaN and infinities: null
    | st.text(max_size=5)  # lone surrogates too
)


def general(value: Any) -> Any:
    data = _jsonable._jsonable(value, _jsonable._DESCEND)
    return _jsonable._without_huge_ints(data) if _jsonable._has_huge_int(data) else data


@settings(max_examples=500)
@given(
    st.dictionaries(st.text(max_size=4) | st.integers(0, 3) | st.booleans(), scalars, max_size=6)
)
def test_a_flat_dict_comes_out_as_the_general_path_makes_it(value: dict[Any, Any]) -> None:
    out = jsonable(value)
    assert repr(out) == repr(general(value))  # repr: NaN in, null out, on both sides
    assert out is not value  # a copy: changing it never changes the payload


def test_what_is_not_flat_takes_the_general_path() -> None:
    assert jsonable({"a": {"b": 10**200}}) == {
        "a": {"b": "<int of about 201 digits, longer than JSON here carries>"}
    }
    assert jsonable({"\ud800": 1}) == {"\\ud800": 1}  # a key JSON cannot encode, made visible
    assert jsonable({"x": float("inf"), "y": (1, 2)}) == {"x": None, "y": [1, 2]}
