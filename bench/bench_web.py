"""mapstore-tui web benchmark: first paint in headless Chromium, key -> screen over the websocket.

Run:  .venv/bin/python bench/bench_web.py [--quick]     (needs Debian's chromium)

1. First paint: from ``page.goto`` of the printed URL (token, redirect, cookie, page,
   xterm.js, websocket, a new panel process) to the panel's footer and channel list being
   in the terminal's text (read from xterm's buffer every 10 ms), in a fresh browser
   profile each run; ``mapstore-tui web demo``. Goal < 1 s, bar < 3 s. Each run's panel
   ends, and the server's next spare panel has started, before the next run.
2. Key -> screen change over the websocket on loopback: a client of the server's own
   protocol (no browser) opens ``mapstore-tui web replay FILE`` (the cursor on its last
   event) and presses ``[`` (one event back); the time from sending the key until the
   panel's output says the new ``event N/M``. A replay draws nothing between keys, so
   every frame timed is the key's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import aiohttp

from mapstore_core import MapObjectStore

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.web.helpers import TERMINAL_HOOK, TERMINAL_TEXT  # noqa: E402


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class Server:
    """``mapstore-tui web --port 0 ARGS`` until ``close()``."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mapstore_tui", "web", "--port", "0", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()
        if not self.url:
            raise SystemExit("mapstore-tui web did not start")
        self.base, _, query = self.url.partition("/?")
        self.token = query.removeprefix("token=")
        self._drain = threading.Thread(target=self.process.stdout.read, daemon=True)
        self._drain.start()

    def panels(self) -> int:
        found = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True
        ).stdout.split()
        return len(found)

    def settle(self) -> None:
        """Until the tabs' panels have ended and the next spare has started (3 s more)."""
        deadline = time.monotonic() + 30
        while self.panels() != 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(3)

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self._drain.join(timeout=5)
        assert self.process.stdout is not None
        self.process.stdout.close()


# 1 -------------------------------------------------------------------------------------------


def first_paint(runs: int) -> list[float] | None:
    chromium = shutil.which("chromium")
    if chromium is None:
        return None
    from playwright.sync_api import sync_playwright

    server = Server("demo", "--seed", "1")
    server.settle()
    times: list[float] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium, args=["--no-sandbox", "--disable-dev-shm-usage"]
            )
            for _ in range(runs):
                context = browser.new_context(viewport={"width": 1400, "height": 900})
                context.add_init_script(TERMINAL_HOOK)
                page = context.new_page()
                started = time.perf_counter()
                page.goto(server.url)
                while True:
                    text = page.evaluate(TERMINAL_TEXT)
                    if "l Log Producers" in text and "metric-data" in text:
                        break
                    if time.perf_counter() - started > 30:
                        raise SystemExit("no first paint within 30 s")
                    time.sleep(0.01)
                times.append(time.perf_counter() - started)
                context.close()
                server.settle()
            browser.close()
    finally:
        server.close()
    return times


# 2 -------------------------------------------------------------------------------------------

EVENT = re.compile(rb"event (\d+)/(\d+)")


def write_recording(path: Path, events: int) -> None:
    store = MapObjectStore()
    with store.record(path):
        producer = store.register_producer("prices", "price-service")
        for value in range(events):
            producer.publish({"AAPL": 180 + value})
        producer.close()


async def key_to_screen(presses: int) -> list[float]:
    with tempfile.TemporaryDirectory() as directory:
        recording = Path(directory) / "session.jsonl"
        write_recording(recording, presses + 20)
        server = Server("replay", str(recording))
        try:
            return await _presses(server, presses)
        finally:
            server.close()


async def _presses(server: Server, presses: int) -> list[float]:
    latencies: list[float] = []
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(
            f"{server.base}/ws?token={server.token}&width=140&height=45", origin=server.base
        ) as websocket,
    ):
        seen = b""
        while not EVENT.search(seen):
            message = await asyncio.wait_for(websocket.receive(), 30)
            if message.type == aiohttp.WSMsgType.BINARY:
                seen += message.data
        await asyncio.sleep(1.0)  # the panel settles: its first refreshes are done
        while True:  # drain what it drew meanwhile
            try:
                message = await asyncio.wait_for(websocket.receive(), 0.2)
            except TimeoutError:
                break
            if message.type == aiohttp.WSMsgType.BINARY:
                seen += message.data
        current = int(EVENT.findall(seen)[-1][0])
        for _ in range(presses):
            wanted = f"event {current - 1}/".encode()
            started = time.perf_counter()
            await websocket.send_str(json.dumps(["stdin", "["]))
            got = b""
            while wanted not in got:
                message = await asyncio.wait_for(websocket.receive(), 30)
                if message.type == aiohttp.WSMsgType.BINARY:
                    got += message.data
            latencies.append(time.perf_counter() - started)
            current -= 1
            await asyncio.sleep(0.05)
    return latencies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run with tiny numbers")
    quick = parser.parse_args(argv).quick

    paints = first_paint(1 if quick else 7)
    if paints is None:
        print("1. first paint in headless Chromium: skipped (chromium is not installed)")
    else:
        print(
            f"1. first paint in headless Chromium ({len(paints)} runs): median "
            f"{statistics.median(paints):.2f} s, min {min(paints):.2f} s, max "
            f"{max(paints):.2f} s (goal < 1 s, bar < 3 s)"
        )
    latencies = asyncio.run(key_to_screen(10 if quick else 100))
    ms = [latency * 1000 for latency in latencies]
    print(
        f"2. key -> screen change over the websocket ({len(ms)} presses of '[' in a replay): "
        f"median {statistics.median(ms):.1f} ms, p95 {percentile(ms, 0.95):.1f} ms, "
        f"max {max(ms):.1f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
