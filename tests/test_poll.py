"""The poll helpers every test waits with: what they return, and what their failures say."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator

import pytest

from tests.poll import apoll_until, poll_until


def test_poll_until_returns_the_first_truthy_value() -> None:
    seen: Iterator[object] = iter([None, 0, [], {"n": 1}, {"n": 2}])
    assert poll_until(lambda: next(seen), what="a value", interval=0) == {"n": 1}
    assert next(seen) == {"n": 2}  # not called again once it held


def test_poll_until_names_what_never_happened_and_the_last_value_seen() -> None:
    seen: Iterator[object] = itertools.chain([None], itertools.repeat([]))
    with pytest.raises(AssertionError) as info:
        poll_until(lambda: next(seen), what="an item", timeout=0.05, interval=0.01)
    assert str(info.value) == "an item: not reached within 0.05 s (last seen: [])"


async def test_apoll_until_pauses_with_what_it_is_given_between_checks() -> None:
    pauses: list[float] = []

    async def pause(delay: float) -> None:
        pauses.append(delay)
        await asyncio.sleep(0)

    seen = iter([False, False, "ready"])
    got = await apoll_until(lambda: next(seen), what="ready", pause=pause, interval=0.5)
    assert got == "ready" and pauses == [0.5, 0.5]


async def test_apoll_until_fails_like_poll_until() -> None:
    with pytest.raises(
        AssertionError, match=r"^the screen: not reached within 0 s \(last seen: ''\)$"
    ):
        await apoll_until(lambda: "", what="the screen", pause=asyncio.sleep, timeout=0)
