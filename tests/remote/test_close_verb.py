"""One verb for stopping: ``close()``; ``stop()`` stays as its alias."""

from __future__ import annotations

import os
from pathlib import Path

from mapstore_core import DebugServer, MapObjectStore


def test_close_removes_the_endpoint_and_stop_is_its_alias(socket_path: Path) -> None:
    server = MapObjectStore().serve_debug(path=socket_path, announce=False)
    assert os.path.exists(socket_path)
    server.close()
    assert not os.path.exists(socket_path)
    server.close()  # idempotent
    with MapObjectStore().serve_debug(path=socket_path, announce=False):
        assert os.path.exists(socket_path)
    assert not os.path.exists(socket_path)
    again = MapObjectStore().serve_debug(path=socket_path, announce=False)
    again.stop()
    assert not os.path.exists(socket_path)
    assert "alias of ``close()``" in (DebugServer.stop.__doc__ or "")
