"""The panel in a browser: ``mapstore-tui web`` (needs the ``web`` extra: textual-serve).

``serve_panel(argv, ...)`` serves a panel command (``python -m mapstore_tui demo``, ``attach
...``, ``replay FILE``) to browsers through textual-serve, one panel process per tab, behind
a token and the ``Host`` and ``Origin`` checks that ``_guard`` describes. It listens on
127.0.0.1 unless told otherwise, prints one URL, and ends every panel it started when it
stops (SIGINT, SIGTERM, SIGHUP).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from mapstore_tui.web._guard import Guard, is_loopback, new_token
from mapstore_tui.web._server import MAX_MESSAGE, MAX_SESSIONS, PanelServer, quiet_logging, serve

__all__ = ["MAX_MESSAGE", "MAX_SESSIONS", "Guard", "PanelServer", "is_loopback", "serve_panel"]


def serve_panel(
    argv: Sequence[str],
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    public_url: str | None = None,
    title: str = "MapStore debug panel",
    announce: Callable[[str], None] = print,
    token: str | None = None,
) -> int:
    """Serve the panel command ``argv`` until a stop signal; returns the exit status (0).

    ``announce`` gets the one URL to open (with the token) once the server listens.
    Raises ``OSError`` when it cannot listen there.
    """
    guard = Guard(token or new_token(), host=host, public_url=public_url)
    server = PanelServer(
        argv, guard=guard, host=host, port=port, title=title, public_url=public_url
    )
    undo = quiet_logging()
    try:
        return asyncio.run(serve(server, announce=announce))
    finally:
        undo()
