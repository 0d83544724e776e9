"""The browser panel's server: textual-serve behind ``Guard``, one panel process per tab.

textual-serve's ``Server`` is kept and subclassed, not forked. What is overridden, and why:

- ``handle_index``: the page comes from this package's template (every font and script from
  this server, none from the internet) with addresses relative to the request, so a tunnel
  to another local port (``ssh -L 9000:127.0.0.1:8000``) still reaches the websocket;
- ``handle_websocket`` and ``_process_messages``: a cap on message size, a bound on
  sessions, each session's process tracked (so a stop ends them all), and a browser's
  messages checked (hostile input is ordinary input: a malformed one is ignored, never a
  traceback in the server's output);
- ``on_startup``: no banner; the command prints its one URL line itself.

Each panel runs as ``python -m mapstore_tui SUBCOMMAND ...`` under textual's web driver, in
its own session (process group), started through ``_lifeline.guarded`` on Linux so that it
gets SIGTERM if the server dies outright. Closing a tab closes its websocket, and its panel
is asked to quit, then terminated, then killed, each after a bounded wait; stopping the
server does the same for every panel, then removes what is left of each process group.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp_jinja2
from aiohttp import WSMsgType, web
from textual_serve.app_service import AppService
from textual_serve.server import Server

from mapstore_tui._lifeline import guarded
from mapstore_tui._stopping import STOP_SIGNALS
from mapstore_tui.web._guard import Guard

__all__ = ["MAX_MESSAGE", "MAX_SESSIONS", "PanelServer"]

MAX_MESSAGE = 256 * 1024
"""The largest websocket message a browser may send (a paste); larger closes the socket."""
MAX_SESSIONS = 16
"""Panel processes at once; one more websocket is refused (503)."""
QUIT_WAIT = 3.0
"""Seconds a panel has to quit when asked, then again after SIGTERM, before SIGKILL."""

TEMPLATES = Path(__file__).parent / "templates"
log = logging.getLogger("mapstore.web")


class _PanelService(AppService):
    """One panel process, started from an argument list (never through a shell)."""

    def __init__(self, argv: Sequence[str], **kwargs: Any) -> None:
        super().__init__(" ".join(argv), **kwargs)
        self.argv = list(argv)

    @property
    def process(self) -> asyncio.subprocess.Process | None:
        """The panel's process, once started."""
        return self._process

    async def _open_app_process(
        self, width: int = 80, height: int = 24
    ) -> asyncio.subprocess.Process:
        argv = guarded(self.argv) if sys.platform == "linux" else self.argv
        self._process = process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self._build_environment(width=width, height=height),
            start_new_session=True,  # its own process group: a stop ends its children too
        )
        assert process.stdin is not None
        self._stdin = process.stdin
        return process


class PanelServer(Server):
    """Serve ``argv`` (a panel command) to browsers that hold ``guard``'s token."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        guard: Guard,
        host: str,
        port: int,
        title: str,
        public_url: str | None = None,
        max_sessions: int = MAX_SESSIONS,
    ) -> None:
        super().__init__(
            " ".join(argv),
            host=host,
            port=port,
            title=title,
            public_url=public_url,
            templates_path=TEMPLATES,
        )
        self.given_public_url = public_url
        self.argv = list(argv)
        self.guard = guard
        self.max_sessions = max_sessions
        self.sessions: set[_PanelService] = set()
        self._sockets: set[web.WebSocketResponse] = set()

    def url(self) -> str:
        """The one URL to open: where it listens (or ``--public-url``), with the token."""
        if self.given_public_url:
            base = self.given_public_url.rstrip("/")
        else:
            host = socket.gethostname() if self.host in ("", "0.0.0.0", "::") else self.host
            host = f"[{host}]" if ":" in host else host
            base = f"http://{host}:{self.port}"
        return f"{base}{self.guard.index_path}?token={self.guard.token}"

    async def on_startup(self, app: web.Application) -> None:
        """No banner: the command prints its one URL line."""

    async def handle_index(self, request: web.Request) -> web.Response:
        """The page, its addresses relative to the request (a tunnel's port is kept)."""
        scheme = "wss" if request.secure else "ws"
        context = {
            "font_size": _bounded_int(request.query.get("fontsize"), 16, 6, 64),
            "app_websocket_url": f"{scheme}://{request.host}{self.guard.websocket_path}",
            "config": {"static": {"url": "/static/"}},
            "application": {"name": self.title},
        }
        return aiohttp_jinja2.render_template("app_index.html", request, context)

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """One panel process for this websocket, ended when the websocket closes."""
        if len(self.sessions) >= self.max_sessions:
            raise web.HTTPServiceUnavailable(
                text=f"already {self.max_sessions} panels open: close a tab first\n"
            )
        websocket = web.WebSocketResponse(heartbeat=15, max_msg_size=MAX_MESSAGE)
        await websocket.prepare(request)
        self._sockets.add(websocket)
        service = _PanelService(
            self.argv,
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=websocket.close,
            download_manager=self.download_manager,
        )
        self.sessions.add(service)
        try:
            await service.start(
                _bounded_int(request.query.get("width"), 80, 10, 1000),
                _bounded_int(request.query.get("height"), 24, 5, 1000),
            )
            await self._process_messages(websocket, service)
        except (ConnectionError, asyncio.CancelledError):
            pass  # the browser went away, or the server is stopping: the panel ends below
        finally:
            self._sockets.discard(websocket)
            await _end_panel(service)
            self.sessions.discard(service)
            if not websocket.closed:
                await websocket.close()
        return websocket

    async def _process_messages(
        self, websocket: web.WebSocketResponse, app_service: AppService
    ) -> None:
        """Relay the browser's keys, sizes and focus; ignore whatever is not one of them."""
        async for message in websocket:
            if message.type != WSMsgType.TEXT:
                continue
            envelope = _envelope(message.data)
            if envelope is None:
                continue
            kind, data = envelope
            if kind == "stdin" and isinstance(data, str):
                await app_service.send_bytes(data.encode("utf-8", "replace"))
            elif kind == "resize" and isinstance(data, dict):
                await app_service.set_terminal_size(
                    _bounded_int(data.get("width"), 80, 10, 1000),
                    _bounded_int(data.get("height"), 24, 5, 1000),
                )
            elif kind == "ping" and isinstance(data, str) and len(data) <= 64:
                await websocket.send_json(["pong", data])
            elif kind == "blur":
                await app_service.blur()
            elif kind == "focus":
                await app_service.focus()

    async def make_app(self) -> web.Application:
        """textual-serve's application behind the guard."""
        app = await self._make_app()
        app.middlewares.append(self.guard.middleware)
        app.on_response_prepare.append(self.guard.on_response_prepare)
        return app

    async def close_sessions(self) -> None:
        """Close every websocket and end every panel process (bounded waits)."""
        for websocket in list(self._sockets):
            with contextlib.suppress(ConnectionError):
                await websocket.close(code=1001, message=b"server stopping")
        await asyncio.gather(*(_end_panel(service) for service in list(self.sessions)))


async def _end_panel(service: _PanelService) -> None:
    """Ask the panel to quit; then SIGTERM, then SIGKILL its group, each after a wait."""
    process = service.process
    if process is None:
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(service.stop()), QUIT_WAIT)
    for signum in (signal.SIGTERM, signal.SIGKILL):
        if process.returncode is not None:
            break
        _signal_group(process.pid, signum)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), QUIT_WAIT)
    _signal_group(process.pid, signal.SIGKILL)  # what the panel itself started, if any


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _envelope(text: str) -> tuple[str, object] | None:
    """``[kind, data]`` from a browser's message, or None if it is not one."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if not isinstance(value, list) or not value or not isinstance(value[0], str):
        return None
    return value[0], value[1] if len(value) > 1 else None


def _bounded_int(value: object, default: int, low: int, high: int) -> int:
    """``value`` as an int within ``[low, high]``, or ``default`` if it is not a number."""
    if isinstance(value, bool):
        return default
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            return default
    if not isinstance(value, int):
        return default
    return min(max(value, low), high)


class _OneLine(logging.Formatter):
    """A log record as one line: an exception is named, its traceback never printed."""

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            record = logging.makeLogRecord(record.__dict__)
            record.msg = f"{record.getMessage()}: {type(error).__name__}: {error}"
            record.args = None
            record.exc_info = record.exc_text = None
        return super().format(record)


def quiet_logging() -> Callable[[], None]:
    """Warnings of aiohttp and textual-serve as one line on stderr; returns the undo."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine("mapstore-tui web: %(message)s"))
    loggers = [logging.getLogger(name) for name in ("aiohttp", "textual-serve", "mapstore.web")]
    saved = [(logger, logger.propagate, logger.level) for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.propagate = False
        logger.setLevel(logging.WARNING)

    def undo() -> None:
        for logger, propagate, level in saved:
            logger.removeHandler(handler)
            logger.propagate = propagate
            logger.setLevel(level)

    return undo


async def serve(
    server: PanelServer,
    *,
    announce: Callable[[str], None],
    stop_signals: Sequence[int] = STOP_SIGNALS,
) -> int:
    """Listen, ``announce`` the URL, serve until a stop signal, end every panel; 0.

    Raises ``OSError`` when it cannot listen (a port in use, an unknown host).
    """
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()

    def stop(_signum: int, _frame: object) -> None:
        loop.call_soon_threadsafe(stopping.set)  # a second signal while ending: no-op

    runner = web.AppRunner(await server.make_app(), access_log=None, handle_signals=False)
    await runner.setup()
    previous = {sig: signal.signal(sig, stop) for sig in stop_signals}
    try:
        site = web.TCPSite(runner, server.host, server.port)
        await site.start()
        server.port = _bound_port(runner)
        announce(server.url())
        await stopping.wait()
        await site.stop()  # no new tab while the panels end
    finally:
        await server.close_sessions()
        await runner.cleanup()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _bound_port(runner: web.AppRunner) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple):
            return int(address[1])
    raise OSError("the server is listening on no TCP port")
