"""The panel in a browser: ``mapstore-tui web`` (needs the ``web`` extra: textual-serve).

``serve_panel(args, ...)`` serves a panel command (``demo``, ``attach ...``, ``replay
FILE``) to browsers through textual-serve, one panel process per tab (``_panel``), behind a
token and the ``Host`` and ``Origin`` checks that ``_guard`` describes (``_server``: what
of textual-serve is overridden, and why). It listens on 127.0.0.1 unless told otherwise,
prints one URL, and ends every panel it started when it stops (SIGINT, SIGTERM, SIGHUP).

Importing this package loads neither aiohttp nor textual-serve: a panel process imports
``_panel`` from it, and the command line asks ``is_loopback`` before serving.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from mapstore_tui.web._shared import is_loopback

__all__ = ["is_loopback", "serve_panel"]


def serve_panel(
    args: Sequence[str],
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    public_url: str | None = None,
    title: str = "MapStore debug panel",
    announce: Callable[[str], None] = print,
    token: str | None = None,
) -> int:
    """Serve ``mapstore-tui ARGS`` until a stop signal; returns the exit status (0).

    ``announce`` gets the one URL to open (with the token) once the server listens.
    Raises ``OSError`` when it cannot listen there.
    """
    import asyncio

    from mapstore_tui.web._guard import Guard, new_token
    from mapstore_tui.web._server import PanelServer, quiet_logging, serve

    guard = Guard(token or new_token(), host=host, public_url=public_url)
    server = PanelServer(
        [sys.executable, "-m", "mapstore_tui.web._panel", *args],
        guard=guard,
        host=host,
        port=port,
        title=title,
        public_url=public_url,
    )
    undo = quiet_logging(redact=(guard.token,))
    try:
        return asyncio.run(serve(server, announce=announce))
    finally:
        undo()
