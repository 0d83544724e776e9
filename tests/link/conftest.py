from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mapstore_core import StoreLink
from tests.link.helpers import RedisServer


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A private redis-server on a Unix socket in this test's temporary directory."""
    server = RedisServer(tmp_path).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def links() -> Iterator[list[StoreLink]]:
    """Links a test makes; each is closed at the end, whatever happened."""
    made: list[StoreLink] = []
    yield made
    for link in made:
        link.close()
