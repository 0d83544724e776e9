"""The browser panel's server: textual-serve behind ``Guard``, one panel process per tab.

textual-serve's ``Server`` is kept and subclassed, not forked. What is overridden, and why:

- ``handle_index``: the page comes from this package's template (every font and script from
  this server, none from the internet) with addresses relative to the request, so a tunnel
  to another local port (``ssh -L 9000:127.0.0.1:8000``) still reaches the websocket;
- ``handle_websocket`` and ``_process_messages``: a cap on message size, a bound on
  sessions, each session's process tracked (so a stop ends them all), and a browser's
  messages checked (hostile input is ordinary input: a malformed one is ignored, never a
  traceback in the server's output);
- ``on_startup``: no banner; the command prints its one URL line itself;
- ``AppService._open_app_process`` (``_PanelService``): the panel is started from an
  argument list, never through a shell (textual-serve runs a command string with
  ``create_subprocess_shell``), in a session of its own, told the server's pid, and may
  have been started ahead (the spare, below).

Each panel runs as ``python -m mapstore_tui.web._panel SUBCOMMAND ...`` (that is,
``mapstore-tui SUBCOMMAND ...`` ending by itself if the server is gone) under textual's web
driver, in its own session (process group). One panel is started ahead, the spare, so a
new tab is drawn without waiting for Python and Textual to start; the tab adopts it, tells
it its size, and the next spare starts. Closing a tab closes its websocket, and its panel
is asked to quit, then terminated, then killed, each after a bounded wait; stopping the
server does the same for every panel (a spare nobody saw is killed at once), then removes
what is left of each process group.
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
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp_jinja2
from aiohttp import WSMsgType, hdrs, web
from textual_serve.app_service import AppService
from textual_serve.download_manager import DownloadManager
from textual_serve.server import Server

from mapstore_tui._stopping import STOP_SIGNALS
from mapstore_tui.web._guard import Guard
from mapstore_tui.web._shared import SERVER_ENV

__all__ = ["MAX_MESSAGE", "MAX_SESSIONS", "PanelServer"]

MAX_MESSAGE = 256 * 1024
"""The largest websocket message a browser may send (a paste); larger closes the socket."""
MAX_SESSIONS = 16
"""Panel processes at once; one more websocket is refused (503)."""
SPARE_SIZE = (120, 40)
"""The first spare's terminal size (then the last tab's) until a browser says its own."""
QUIT_WAIT = 3.0
"""Seconds a panel has to quit when asked, then again after SIGTERM, before SIGKILL."""

TEMPLATES = Path(__file__).parent / "templates"
log = logging.getLogger("mapstore.web")


class _PanelService(AppService):
    """One panel process, started from an argument list (never through a shell).

    It may be started ahead as the spare (``open_ahead``), before any browser asks: then
    its output waits in the pipe, and ``bind`` gives it the websocket that adopts it.
    """

    def __init__(self, argv: Sequence[str], *, download_manager: DownloadManager) -> None:
        super().__init__(
            " ".join(argv),
            write_bytes=_nowhere,
            write_str=_nowhere,
            close=_nothing,
            download_manager=download_manager,
        )
        self.argv = list(argv)

    @property
    def process(self) -> asyncio.subprocess.Process | None:
        """The panel's process, once started."""
        return self._process

    @property
    def alive(self) -> bool:
        """Whether its process was started and still runs."""
        return self._process is not None and self._process.returncode is None

    def bind(self, websocket: web.WebSocketResponse) -> None:
        """Send what the panel draws to ``websocket``, and close it when the panel ends."""
        self.remote_write_bytes = websocket.send_bytes
        self.remote_write_str = websocket.send_str

        async def close() -> None:
            await websocket.close()

        self.remote_close = close

    async def open_ahead(self, width: int, height: int) -> None:
        """Start the process now; ``start`` later adopts it (at the browser's size)."""
        await self._open_app_process(width, height)

    async def _open_app_process(
        self, width: int = 80, height: int = 24
    ) -> asyncio.subprocess.Process:
        if self._process is not None and self.alive:  # the spare, started ahead
            await self.set_terminal_size(width, height)
            return self._process
        environment = self._build_environment(width=width, height=height)
        environment[SERVER_ENV] = str(os.getpid())  # the panel ends when this process goes
        self._process = process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=environment,
            start_new_session=True,  # its own process group: a stop ends its children too
        )
        assert process.stdin is not None
        self._stdin = process.stdin
        return process


async def _nowhere(_data: Any) -> None:
    """Where a spare's output would go: nowhere, as nothing reads it before a browser."""


async def _nothing() -> None:
    pass


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
        spare: bool = True,
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
        self.spare = spare
        """Keep one panel process started ahead, so a new tab is drawn at once."""
        self._spare: _PanelService | None = None
        self._spare_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._last_size = SPARE_SIZE
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
        if self.given_public_url:  # behind a proxy: its scheme (https: wss) and host
            public = urlsplit(self.given_public_url)
            scheme, host = ("wss" if public.scheme == "https" else "ws"), public.netloc
        else:  # the Host the guard checked (a tunnel's port is kept)
            scheme = "wss" if request.secure else "ws"
            host = request.headers.get(hdrs.HOST, request.host)
        context = {
            "font_size": _bounded_int(request.query.get("fontsize"), 16, 6, 64),
            "app_websocket_url": f"{scheme}://{host}{self.guard.websocket_path}",
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
        service = await self._take_spare() or _PanelService(
            self.argv, download_manager=self.download_manager
        )
        service.bind(websocket)
        self.sessions.add(service)
        try:
            self._last_size = (  # the next spare's: the next tab is likely the same size
                _bounded_int(request.query.get("width"), 80, 10, 1000),
                _bounded_int(request.query.get("height"), 24, 5, 1000),
            )
            await service.start(*self._last_size)
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

    def make_spare(self) -> None:
        """Start the next spare panel in the background (if spares are on and none is)."""
        if self.spare and not self._stopping and self._spare_task is None:
            self._spare_task = asyncio.create_task(self._open_spare())

    async def _open_spare(self) -> None:
        service = _PanelService(self.argv, download_manager=self.download_manager)
        try:
            await service.open_ahead(*self._last_size)
        except OSError as error:  # cannot start a process now: the next tab starts its own
            log.warning("cannot start a spare panel: %s", error)
            return
        finally:
            self._spare_task = None
        if self._stopping:
            await _end_spare(service)
        else:
            self._spare = service

    async def _take_spare(self) -> _PanelService | None:
        """The spare, if one is ready and alive (a new one is started); else None."""
        spare, self._spare = self._spare, None
        self.make_spare()
        if spare is not None and not spare.alive:
            await _end_spare(spare)  # it died unseen (its own error): collect it
            return None
        return spare

    async def make_app(self) -> web.Application:
        """textual-serve's application behind the guard."""
        app = await self._make_app()
        app.middlewares.append(self.guard.middleware)
        app.on_response_prepare.append(self.guard.on_response_prepare)
        return app

    async def close_sessions(self) -> None:
        """Close every websocket and end every panel process (bounded waits)."""
        self._stopping = True
        if self._spare_task is not None:
            await asyncio.wait([self._spare_task])
        spare, self._spare = self._spare, None
        if spare is not None:
            await _end_spare(spare)
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


async def _end_spare(service: _PanelService) -> None:
    """End a spare nobody has seen: at once (its output, unread, may fill its pipe)."""
    process = service.process
    if process is None:
        return
    _signal_group(process.pid, signal.SIGKILL)
    # Not process.wait(): that waits for its pipes' end too, and nothing read the spare's
    # output; a full pipe never got to its end, and a stop hung on it forever.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(process.communicate(), QUIT_WAIT)


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _envelope(text: str) -> tuple[str, object] | None:
    """``[kind, data]`` from a browser's message, or None if it is not one."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # not JSON; nested past the parser's depth
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
    """A log record as one short printable line: no traceback, no control character.

    aiohttp's records quote what a client sent (a request line too long, say): that text is
    the client's, so it is cut short and its control characters are escaped.
    """

    LIMIT = 300

    def __init__(self, fmt: str, *, redact: Sequence[str] = ()) -> None:
        super().__init__(fmt)
        self._redact = [secret for secret in redact if secret]

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            record = logging.makeLogRecord(record.__dict__)
            record.msg = f"{record.getMessage()}: {type(error).__name__}: {error}"
            record.args = None
            record.exc_info = record.exc_text = None
        line = " ".join(super().format(record).split())
        for secret in self._redact:  # a request line quoted back may hold the token
            line = line.replace(secret, "<token>")
        line = "".join(c if c.isprintable() else repr(c)[1:-1] for c in line)
        return line if len(line) <= self.LIMIT else f"{line[: self.LIMIT - 1]}…"


class _Budget(logging.Filter):
    """At most ``burst`` lines, then one per ``every`` seconds; says how many it left out.

    A client sending malformed requests (or holding every descriptor, which asyncio logs
    per refused accept) must not flood the server's output.
    """

    def __init__(self, burst: int = 20, every: float = 3.0) -> None:
        super().__init__()
        self.burst, self.every = burst, every
        self._tokens = float(burst)
        self._last = time.monotonic()
        self.dropped = 0

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._last) / self.every)
        self._last = now
        if self._tokens < 1:
            self.dropped += 1
            return False
        self._tokens -= 1
        if self.dropped:
            record.msg = f"{record.getMessage()} ({self.dropped} more lines left out)"
            record.args = None
            self.dropped = 0
        return True


def quiet_logging(redact: Sequence[str] = ()) -> Callable[[], None]:
    """Warnings of aiohttp, asyncio and textual-serve as one line on stderr; returns the undo.

    ``redact`` (the token) is hidden, and the lines come at a bounded rate.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine("mapstore-tui web: %(message)s", redact=redact))
    handler.addFilter(_Budget())
    names = ("aiohttp", "asyncio", "textual-serve", "mapstore.web")
    loggers = [logging.getLogger(name) for name in names]
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
        server.make_spare()
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
