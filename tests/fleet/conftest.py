from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.link.helpers import RedisServer


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A private redis-server on a Unix socket (tests/link's), stopped by its own pid."""
    server = RedisServer(tmp_path).start()
    try:
        yield server
    finally:
        server.stop()
