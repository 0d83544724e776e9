from __future__ import annotations

from typing import Optional

from pydantic import BaseModel, ValidationError

from mapstore_core._fields import field_problems


class Address(BaseModel):
    street: str
    number: int


class Person(BaseModel):
    name: str
    address: Address
    previous: list[Address] = []
    nickname: Optional[str] = None  # noqa: UP045 - the Optional spelling is what we test
    score: int | str = 0
    contact: Address | str = ""


def problems(payload: object) -> dict[str, str]:
    try:
        Person.model_validate(payload)
    except ValidationError as exc:
        return field_problems(Person, exc.errors())
    raise AssertionError("payload validated")


def test_sibling_fields_stay_separate() -> None:
    found = problems({"name": "a", "address": {}})
    assert list(found) == ["address.street", "address.number"]


def test_union_branches_fold_into_the_field() -> None:
    found = problems({"name": "a", "address": {"street": "s", "number": 1}, "score": [1]})
    assert list(found) == ["score"]
    assert "valid integer" in found["score"] and "valid string" in found["score"]


def test_model_branch_of_a_union_keeps_its_inner_field() -> None:
    found = problems(
        {"name": "a", "address": {"street": "s", "number": 1}, "contact": {"street": "s"}}
    )
    assert list(found) == ["contact.number", "contact"]


def test_list_index_and_optional() -> None:
    found = problems(
        {
            "name": "a",
            "address": {"street": "s", "number": 1},
            "previous": [{"street": "s", "number": "x"}],
            "nickname": 3,
        }
    )
    assert list(found) == ["previous.0.number", "nickname"]


def test_model_level_error_is_the_payload() -> None:
    assert list(problems("not a dict")) == ["(payload)"]
