from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def socket_path(tmp_path: Path) -> Path:
    """A socket path in a private directory, as the endpoint requires."""
    directory = tmp_path / "run"
    directory.mkdir(mode=0o700)
    return directory / "app.sock"
