"""A panel process of ``mapstore-tui web``: ``python -m mapstore_tui.web._panel ARGS``.

It is ``mapstore-tui ARGS`` (under textual's web driver), plus one guard: it ends when the
server that started it is gone, however the server went. The lifeline of ``_lifeline``
cannot serve here (a panel's stdin is the server's data channel), and a parent-death
signal alone proved not enough: a SIGTERM that lands while the panel is still starting up
can be lost, and a panel left drawing into a closed pipe spun at full speed. So a thread
watches the parent: once the server (``MAPSTORE_WEB_SERVER`` names its pid) is no longer
this process's parent, it asks the panel to stop as a stop signal does, and ends the
process outright if it has not stopped within ``GRACE`` seconds.

This module imports the standard library only until the panel itself starts.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Sequence

from mapstore_tui.web._shared import SERVER_ENV

__all__ = ["GRACE", "main", "watch_server"]

GRACE = 3.0
"""Seconds a panel whose server is gone has to stop before it is ended outright."""
INTERVAL = 0.25


def watch_server(server: int) -> threading.Thread:
    """End this process once ``server`` is no longer its parent (see the module's text)."""

    def watch() -> None:
        while os.getppid() == server:
            time.sleep(INTERVAL)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(GRACE)
        os._exit(128 + signal.SIGTERM)

    thread = threading.Thread(target=watch, name="web-panel-server", daemon=True)
    thread.start()
    return thread


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``mapstore-tui ARGV`` while the server that started it lives."""
    server = os.environ.pop(SERVER_ENV, "")
    if server.isdigit():
        watch_server(int(server))
    from mapstore_tui._entry import main as run

    return run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    raise SystemExit(main())
