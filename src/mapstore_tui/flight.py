"""Where the panel's ``R`` writes its flight recorder: a fresh file in the current directory.

The name says when (``mapstore-flight-20261206-031502.jsonl.gz``, the panel's clock, local
time); a second dump within the same second gets ``-2``, ``-3``..., so none overwrites
another.
"""

from __future__ import annotations

from collections.abc import Container
from datetime import datetime
from pathlib import Path

__all__ = ["flight_dump_path"]


def flight_dump_path(now: float, directory: Path, taken: Container[Path] = ()) -> Path:
    """A file name for a dump at ``now`` in ``directory``, not existing and not ``taken``."""
    stem = f"mapstore-flight-{datetime.fromtimestamp(now):%Y%m%d-%H%M%S}"
    path = directory / f"{stem}.jsonl.gz"
    number = 1
    while path.exists() or path in taken:
        number += 1
        path = directory / f"{stem}-{number}.jsonl.gz"
    return path
