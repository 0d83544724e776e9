"""A real ``mapstore-tui web`` server in a subprocess, and what the browser tests share.

``WebServer`` starts the command, reads the one URL it prints and keeps its stderr, so a
test can say what the server printed; ``panels()`` are its panel processes (children of the
server, read from /proc): one per open tab, and the spare it starts ahead for the next tab,
which ``settled()`` waits for. ``TERMINAL_HOOK`` and ``TERMINAL_TEXT`` read the text of the
page's terminal from xterm.js's own buffer, not its pixels: textual-serve's script keeps
its terminal in a local variable, so the hook, run before the script, notes the object
that sets ``websocket_url`` (textual-serve's terminal wrapper) when it is constructed.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest

from tests.poll import poll_until
from tests.processes import Process, children, running

__all__ = [
    "CHROMIUM",
    "TERMINAL_HOOK",
    "TERMINAL_TEXT",
    "WebServer",
    "needs_chromium",
    "read_until",
    "run_web",
]

ROOT = Path(__file__).resolve().parents[2]
PANEL = "-m mapstore_tui.web._panel "
"""What a panel process's command line says."""
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

needs_chromium = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="Chromium is not installed (apt-get install chromium; CI installs it and never "
    "skips these tests)",
)

TERMINAL_HOOK = """
Object.defineProperty(Object.prototype, "websocket_url", {
  configurable: true,
  set(value) {
    window.__mapstoreTerminal = this;
    Object.defineProperty(this, "websocket_url", {
      value, writable: true, configurable: true, enumerable: true,
    });
  },
});
"""

TERMINAL_TEXT = """() => {
  const wrapper = window.__mapstoreTerminal;
  if (!wrapper || !wrapper.terminal) return "";
  const buffer = wrapper.terminal.buffer.active;
  const lines = [];
  for (let i = 0; i < buffer.length; i++) {
    const line = buffer.getLine(i);
    lines.push(line ? line.translateToString(true) : "");
  }
  return lines.join("\\n");
}"""


def run_web(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``mapstore-tui web ARGS`` to its end (for the commands that refuse up front)."""
    return subprocess.run(
        [sys.executable, "-m", "mapstore_tui", "web", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
    )


class WebServer:
    """``mapstore-tui web --port 0 ARGS`` running until ``stop()``."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mapstore_tui", "web", "--port", "0", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        self._stderr: list[str] = []
        assert self.process.stderr is not None
        self._reader = threading.Thread(
            target=lambda: self._stderr.extend(iter(self.process.stderr.readline, "")),  # type: ignore[union-attr]
            daemon=True,
        )
        self._reader.start()
        self._lines: list[str] = []
        self._stdout_reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._stdout_reader.start()
        self.url: str = poll_until(self._url, what="the server's URL line")
        parts = urlsplit(self.url)
        self.base = f"{parts.scheme}://{parts.netloc}"
        self.port = int(parts.port or 0)
        self.token = parts.query.removeprefix("token=")

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.append(line)

    def _url(self) -> str | None:
        if self.process.poll() is not None and not self._lines:
            raise AssertionError(f"the server ended: {self.stderr}")
        return self._lines[0].strip() if self._lines else None

    @property
    def stdout_lines(self) -> list[str]:
        """What it printed on stdout so far."""
        return list(self._lines)

    @property
    def stderr(self) -> str:
        """What it printed on stderr so far."""
        return "".join(self._stderr)

    def panels(self) -> list[Process]:
        """Its running panel processes (the tabs', and the spare started ahead).

        Known by their command (so not while forked and not yet running it: such a child
        still shows the server's command line, which names mapstore_tui too).
        """
        return [p for p in children(self.process.pid) if PANEL in p.cmdline]

    def settled(self, gone: Iterable[Process] = ()) -> Process:
        """The spare, once it is the only panel running and each of ``gone`` has ended."""
        gone = list(gone)

        def check() -> Process | None:
            if any(running(process) for process in gone):
                return None
            found = self.panels()
            return found[0] if len(found) == 1 else None

        return poll_until(check, what="the server idle: its spare panel alone")

    def spare_blocked(self) -> Process:
        """The spare, once nothing has read its output for so long that its pipe is full.

        (A few seconds of the demo's drawing.) The spare then waits in ``pipe_write``.
        """

        def check() -> Process | None:
            spare = self.settled()
            tasks = Path(f"/proc/{spare.pid}/task")
            try:
                waits = [(task / "wchan").read_text() for task in tasks.iterdir()]
            except (FileNotFoundError, ProcessLookupError):
                return None
            return spare if any("pipe_write" in wait for wait in waits) else None

        return poll_until(check, what="the spare blocked on its full pipe", interval=0.2)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 30) -> int:
        """Send ``signum``; its exit status (killed, and failing, if it does not end)."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"the server did not end on {signum}") from None
        for reader, pipe in (
            (self._reader, self.process.stderr),
            (self._stdout_reader, self.process.stdout),
        ):
            reader.join(timeout=10)
            if pipe is not None:
                pipe.close()
        return code


async def read_until(
    websocket: aiohttp.ClientWebSocketResponse, needle: bytes, *, text: bool = False
) -> bytes:
    """What the panel sent (or, ``text``, the server said) until ``needle`` (bounded)."""
    seen = b""

    async def read() -> bytes:
        nonlocal seen
        async for message in websocket:
            if message.type == aiohttp.WSMsgType.BINARY and not text:
                seen += message.data
            elif message.type == aiohttp.WSMsgType.TEXT and text:
                seen += message.data.encode()
            if needle in seen:
                return seen
        raise AssertionError(f"the websocket closed before {needle!r}")

    return await asyncio.wait_for(read(), 30)
