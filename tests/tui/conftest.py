from __future__ import annotations

from pathlib import Path

import pytest

from .recordings import write_session


@pytest.fixture
def session(tmp_path: Path) -> Path:
    """A fresh recording of the replay's test session (see ``recordings.py``)."""
    return write_session(tmp_path / "session.jsonl.gz")
