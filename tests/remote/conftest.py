from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import private_dir


@pytest.fixture(autouse=True)
def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private runtime directory per test: endpoints are named and listed there only."""
    directory = private_dir(tmp_path / "xdg")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(directory))
    monkeypatch.delenv("MAPSTORE_DEBUG_TOKEN", raising=False)
    return directory


@pytest.fixture
def socket_path(tmp_path: Path) -> Path:
    """A socket path in a private directory, as the endpoint requires."""
    return private_dir(tmp_path / "run") / "app.sock"
