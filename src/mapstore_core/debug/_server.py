"""``DebugServer``: lets a panel in another process watch a store — safely by default.

- A Unix domain socket that only this user can open (mode 0600, in a real 0700 directory of
  the user, reached through no other user's directory or symlink), named after the program
  (``app.sock`` for ``python app.py``) so a restarted app comes back at the same address; TCP
  only on request, on loopback unless a host is given. Files are removed at exit; a live
  socket is never replaced (``_endpoints``).
- Connections waiting for their hello are capped (``max_pending``): one more pushes out the
  one that has waited longest, so idle connections never keep out a client with the token.
  Clients are capped (``max_clients``): one more is told ``busy``. A client that stops
  reading is cut off after ``WRITE_TIMEOUT``. What each connection says and is sent is
  ``_session``'s.
- Read-only: requests read the store and change nothing in it. ``dry_run`` (validate a
  payload, name who would receive it, deliver nothing) works only when the app opted in with
  ``allow_dry_run=True``.

The server runs an asyncio loop in a daemon thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import os
import secrets
import socket
import threading
import weakref
from pathlib import Path
from typing import Any

from mapstore_core._errors import DebugEndpointError, MapStoreError
from mapstore_core._json_reads import JsonReads
from mapstore_core._public import public
from mapstore_core.debug import _endpoints
from mapstore_core.debug._reads import ServedStore
from mapstore_core.debug._session import HELLO_MAX_BYTES, Session

__all__ = ["DebugServer", "default_socket_path"]

logger = logging.getLogger("mapstore_core.debug")

BACKLOG = 512
"""Connections the kernel queues before the server accepts them (200 at once must fit)."""

ACCEPT_BATCH = 32
"""Connections accepted per loop turn, so refusals close sockets before more are taken."""

READ_METHODS = frozenset(
    (
        "channels",
        "producers",
        "consumers",
        "values",
        "history",
        "schema",
        "log_producers",
        "diagnostics",
        "snapshot",
        "dry_run",
    )
)


def default_socket_path(name: str | None = None) -> Path:
    """Where ``serve_debug(name=...)`` puts its socket: ``<endpoint dir>/<name>.sock``."""
    return _endpoints.endpoint_dir() / f"{name or _endpoints.program_name()}.sock"


def _remove_files(
    directory: Path, files: list[tuple[Path, tuple[int, int]]], token: str, owner: int
) -> None:
    """Remove an endpoint's files if they are still the ones it made (at stop, exit or GC).

    Still ours: the socket is the same inode and the token file holds our token (an inode
    number alone can be reused by a successor's socket). Only in the process that made them:
    a forked child exiting leaves its parent's alone.
    """
    if os.getpid() != owner or not files:
        return
    with contextlib.suppress(OSError), _endpoints.directory_lock(directory):
        sock, identity = files[0]
        info = os.lstat(sock)
        try:
            ours = _endpoints.read_private(_endpoints.companions(sock)[0]) == token
        except MapStoreError:
            ours = False
        if (info.st_dev, info.st_ino) == identity and ours:
            for path, made in files:
                _endpoints.remove_if_same(path, made)


@public
class DebugServer:
    """Serves one store to debug panels; see the module docstring for the guarantees.

    Args:
        store: The store to serve.
        name: The endpoint's name (default: the program's, ``app`` for ``python app.py``);
            its socket is ``<endpoint dir>/<name>.sock``, or ``<name>-2.sock`` and so on while
            a live endpoint holds the name.
        path: A Unix socket path of your own instead (its directory must exist, be yours and
            be mode 0700). A live endpoint there, or a file that is not a socket, is refused.
        host: Serve TCP on this host instead (``port`` too); ``"127.0.0.1"`` if only ``port``
            is given. A non-loopback host is the caller's explicit choice.
        port: TCP port (0 picks a free one).
        token: The token clients must present (default: a new random one).
        allow_dry_run: Let clients validate payloads against channels (nothing is delivered).
        queue_size: Events buffered per client before it is told it lost some.
        max_clients: Authenticated clients at once; more are refused (``busy``).
        max_pending: Connections waiting for their hello at once; one more pushes out the
            one that has waited longest (it is told ``busy``).
    """

    def __init__(
        self,
        store: ServedStore,
        *,
        name: str | None = None,
        path: str | os.PathLike[str] | None = None,
        host: str | None = None,
        port: int | None = None,
        token: str | None = None,
        allow_dry_run: bool = False,
        queue_size: int = 10_000,
        max_clients: int = 16,
        max_pending: int = 16,
    ) -> None:
        if port is not None and (type(port) is not int or not 0 <= port <= 65_535):
            raise DebugEndpointError(f"port {port!r} is out of range (0-65535)")
        for what, limit in (("max_clients", max_clients), ("max_pending", max_pending)):
            if type(limit) is not int or limit < 1:
                raise ValueError(f"{what} must be a positive integer, not {limit!r}")
        self.store = store
        self.reader = JsonReads(store)
        self.tcp = host is not None or port is not None
        self.host = host or "127.0.0.1"
        self.port = port or 0
        if path is not None and not os.fspath(path):
            raise DebugEndpointError("path= is empty; give a socket path or leave it out")
        self._explicit_path = path is not None and not self.tcp
        self.path: Path | None = None if self.tcp else Path(path).absolute() if path else None
        self.name = _endpoints.check_name(name) if name else _endpoints.program_name()
        if self._explicit_path and name is None:
            self.name = self.path.name.removesuffix(".sock") if self.path else self.name
        # Hex: a url-safe token starts with "-" one time in 64, and `--token -x...` is then
        # read as a missing argument by the very command the endpoint prints.
        self.token = token or secrets.token_hex(32)
        self.allow_dry_run = allow_dry_run
        self.queue_size = queue_size
        self.max_clients = max_clients
        self.max_pending = max_pending
        self.started = ""
        # Connections and counts; only the server's loop thread touches them.
        self.awaiting_hello: dict[Session, asyncio.Timeout] = {}
        self.clients = 0
        self.lingering = 0
        self.answering = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._stopping: asyncio.Event | None = None
        self._listener: socket.socket | None = None
        self._cleanup: weakref.finalize[Any, Any] | None = None

    @property
    def pending(self) -> int:
        """Connections waiting for their hello (at most ``max_pending``)."""
        return len(self.awaiting_hello)

    @property
    def address(self) -> str:
        """What ``mapstore-tui attach`` takes: ``unix:PATH`` or ``tcp://HOST:PORT``."""
        if self.tcp:
            host = f"[{self.host}]" if ":" in self.host else self.host
            return f"tcp://{host}:{self.port}"
        return f"unix:{self.path}"

    @property
    def token_path(self) -> Path | None:
        """Where the token is written for clients of the same user (Unix sockets only)."""
        return None if self.path is None else _endpoints.companions(self.path)[0]

    def start(self) -> DebugServer:
        """Start serving in a background thread; returns when the endpoint accepts clients.

        Raises:
            DebugEndpointError: the socket cannot be served there (the message says why).
        """
        if self._thread is not None:
            return self
        self.started = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
        self._listener = self._tcp_listener() if self.tcp else self._claim()
        self._thread = threading.Thread(target=self._run, name="mapstore-debug", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._failure is not None:
            self._thread = None
            if self._cleanup is not None:
                self._cleanup()
            raise self._failure
        logger.info("mapstore debug endpoint: mapstore-tui attach %s", self.address)
        return self

    def close(self) -> None:
        """Remove the socket and token files, then close every connection and the endpoint.

        Idempotent; ``with store.serve_debug() as server:`` closes it on leaving the block.
        """
        if self._cleanup is not None:
            self._cleanup()  # first: a successor may claim the name as soon as we stop
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if self._stopping is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._stopping.set)
        thread.join(timeout=10)
        self._thread = None

    def stop(self) -> None:
        """An alias of ``close()``, kept for code written before it."""
        self.close()

    def __enter__(self) -> DebugServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the listening socket ----------------------------------------------------------------

    def _tcp_listener(self) -> socket.socket:
        try:
            family = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)[0][0]
            listener = socket.create_server((self.host, self.port), family=family, backlog=BACKLOG)
        except OSError as exc:
            raise DebugEndpointError(
                f"cannot serve TCP on {self.host}:{self.port}: {exc.strerror or exc}"
            ) from exc
        self.port = listener.getsockname()[1]
        return listener

    def _claim(self) -> socket.socket:
        """Find the socket's place, check it, bind, and write the token, under the dir lock."""
        if self._explicit_path:
            assert self.path is not None
            directory = self.path.parent
            _endpoints.private_directory(directory, create=False)
            candidates = [self.path]
        else:
            directory = _endpoints.endpoint_dir()
            _endpoints.private_directory(directory, create=True)
            names = [self.name] + [f"{self.name}-{n}" for n in range(2, _endpoints.MAX_SUFFIX + 1)]
            candidates = [directory / f"{name}.sock" for name in names]
        with _endpoints.directory_lock(directory):
            for path in candidates:
                seen = _endpoints.probe(path)
                if seen.state == "stale":
                    _endpoints.remove_stale(path)
                elif seen.state != "absent":
                    if self._explicit_path:
                        if seen.state == "other":
                            raise DebugEndpointError(
                                f"{path} exists and is not a socket; not deleting it"
                            )
                        raise DebugEndpointError(
                            f"{path} is served by {_endpoints.owner_text(path, seen.pid)}; "
                            "stop it or choose another path"
                        )
                    continue  # the name is taken: try the next one
                if not self._explicit_path:
                    self.name = path.name.removesuffix(".sock")
                self.path = path
                return self._bind(directory, path)
        raise DebugEndpointError(
            f"{self.name} to {self.name}-{_endpoints.MAX_SUFFIX} are all taken in {directory}; "
            "pass another name"
        )

    def _bind(self, directory: Path, path: Path) -> socket.socket:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        token_path, description_path = _endpoints.companions(path)
        made: list[tuple[Path, tuple[int, int]]] = []
        try:
            listener.bind(str(path))
            # Nobody else can enter the directory, so the socket's mode can be set after
            # bind: no process-wide umask change.
            os.chmod(path, 0o600)
            info = os.lstat(path)
            made.append((path, (info.st_dev, info.st_ino)))
            listener.listen(BACKLOG)
            made.append((token_path, _endpoints.write_private(token_path, self.token)))
            description = _endpoints.describe(
                path, name=self.name, address=f"unix:{path}", started=self.started
            )
            made.append((description_path, _endpoints.write_private(description_path, description)))
        except OSError as exc:
            listener.close()
            for made_path, identity in made:
                _endpoints.remove_if_same(made_path, identity)
            raise DebugEndpointError(f"cannot serve at {path}: {exc.strerror or exc}") from exc
        self._cleanup = weakref.finalize(
            self, _remove_files, directory, made, self.token, os.getpid()
        )
        return listener

    # -- the loop ----------------------------------------------------------------------------

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to start(), or logged once running
            if not self._ready.is_set():
                self._failure = exc
            else:
                logger.warning("mapstore debug endpoint stopped: %s", exc)
        finally:
            self._ready.set()
            loop.close()

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        sessions: set[asyncio.Task[None]] = set()
        listener = self._listener
        assert listener is not None

        async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            sessions.add(task)
            try:
                await Session(self, reader, writer).run()
            except asyncio.CancelledError:
                writer.close()  # the server is stopping
            except Exception:  # never "Unhandled exception in client_connected_cb"
                logger.debug("debug connection failed", exc_info=True)
                writer.close()
            finally:
                sessions.discard(task)

        # asyncio accepts up to ``backlog`` connections per turn: a small batch, so refused
        # ones are closed before more are taken; then the kernel's queue is made large again.
        if self.tcp:
            server = await asyncio.start_server(
                on_client, sock=listener, limit=HELLO_MAX_BYTES, backlog=ACCEPT_BATCH
            )
        else:
            server = await asyncio.start_unix_server(
                on_client, sock=listener, limit=HELLO_MAX_BYTES, backlog=ACCEPT_BATCH
            )
        listener.listen(BACKLOG)
        self._ready.set()
        async with server:
            await self._stopping.wait()
            server.close()
            for task in list(sessions):
                task.cancel()
            await asyncio.gather(*sessions, return_exceptions=True)

    # -- requests ----------------------------------------------------------------------------

    def call(self, method: str, params: dict[str, Any]) -> Any:
        """Answer one request (runs on the server's thread; reads the store, changes nothing)."""
        if method not in READ_METHODS:
            raise ValueError(f"unknown method {method!r}")
        if method == "dry_run" and not self.allow_dry_run:
            raise PermissionError("dry runs are off: the app did not allow_dry_run")
        for name, expected, what in (("channel", str, "a string"), ("limit", int, "an integer")):
            value = params.get(name)
            if value is not None and (not isinstance(value, expected) or isinstance(value, bool)):
                raise TypeError(f"{name!r} must be {what}")
        if method == "dry_run":
            return self.store.dry_run(**params)  # unknown params: TypeError
        return getattr(self.reader, method)(**params)
