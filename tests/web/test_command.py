"""``mapstore-tui web`` as a command: the extra it needs, its arguments checked up front,
the warning for a non-loopback host, and how it ends: every panel process with it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from tests.poll import poll_until
from tests.processes import Process, running
from tests.remote.helpers import DemoProcess
from tests.test_extras import run_without
from tests.tui.recordings import write_session

from .helpers import WebServer, read_until, run_web


def test_web_without_its_extra_says_which_to_install_in_one_line() -> None:
    done = run_without(
        ["textual_serve"], "from mapstore_tui._entry import main\nraise SystemExit(main(['web']))"
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        "mapstore-tui: the browser panel needs the web extra (textual_serve is missing): "
        "pip install 'mapstore[web]'\n"
    )


def test_a_mistake_in_the_panels_arguments_is_one_line_before_anything_listens(
    tmp_path: Path,
) -> None:
    not_a_recording = tmp_path / "notes.txt"
    not_a_recording.write_text("hello\n", encoding="utf-8")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        cases = {
            ("bogus",): "web serves demo, attach or replay, not 'bogus'",
            ("demo", "--bogus"): "unrecognized arguments: --bogus",
            ("demo", "--port", "0"): "--port is web's own option: put it before",
            ("replay", str(tmp_path / "missing.jsonl")): "missing.jsonl",
            ("replay", str(not_a_recording)): "notes.txt",
            ("attach", "http://example.com"): "http:// is not an address mapstore-tui takes",
            ("--port", port, "demo"): f"cannot listen on 127.0.0.1:{port}",
            # a printed URL that could not work (a token in a fragment is never sent)
            ("--public-url", "https://p.example/mapstore/"): "--public-url must be http(s)",
            ("--public-url", "https://p.example/?a=b#f"): "--public-url must be http(s)",
            ("--public-url", "https://u:pw@p.example"): "--public-url must be http(s)",
            ("--public-url", "p.example:8443"): "--public-url must be http(s)",
            ("--public-url", "ftp://p.example"): "--public-url must be http(s)",
            ("--public-url", "https://p.example:99999"): "--public-url 'https://p.example:99999'",
        }
        for args, says in cases.items():
            done = run_web(*args)
            assert done.returncode == 2, (args, done.stderr)
            assert done.stdout == "", args
            assert done.stderr.count("\n") == 1 and says in done.stderr, (args, done.stderr)


def test_a_host_other_than_loopback_warns_that_the_link_shows_the_apps_data() -> None:
    server = WebServer("--host", "0.0.0.0", "demo")
    try:
        assert server.stdout_lines == [f"{server.url}\n"]
        warning = [line for line in server.stderr.splitlines() if "warning" in line]
        assert len(warning) == 1
        assert "whoever holds the link sees the app's data" in warning[0]
        assert "ssh -L" in warning[0]
    finally:
        assert server.stop() == 0


@asynccontextmanager
async def panels_open(server: WebServer, count: int) -> AsyncIterator[list[Process]]:
    """``count`` websocket sessions, held open inside; every panel process then running."""
    async with aiohttp.ClientSession() as session:
        sockets = [
            await session.ws_connect(f"{server.base}/ws?token={server.token}", origin=server.base)
            for _ in range(count)
        ]
        try:
            for websocket in sockets:  # each panel got going: it has drawn something
                await asyncio.wait_for(websocket.receive(), 30)
            yield poll_until(  # theirs and the next spare
                lambda: server.panels() if len(server.panels()) == count + 1 else None,
                what=f"{count + 1} panel processes",
            )
        finally:
            for websocket in sockets:
                await websocket.close()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
async def test_a_stop_signal_ends_the_server_and_every_panel_process(signum: int) -> None:
    server = WebServer("demo")
    try:
        async with panels_open(server, 2) as panels:
            assert len(panels) == 3 and all(running(panel) for panel in panels)
            code = await asyncio.to_thread(server.stop, signum)
            assert code == 0
            assert [panel for panel in panels if running(panel)] == []
    finally:
        server.stop(signal.SIGKILL)
    assert "Traceback" not in server.stderr, server.stderr


def test_a_stop_ends_a_spare_whose_output_nobody_read() -> None:
    """The spare's output waits for a browser; once its pipe is full, a stop must not hang."""
    server = WebServer("demo")
    try:
        spare = server.spare_blocked()
        assert server.stop() == 0
        assert not running(spare)
    finally:
        server.stop(signal.SIGKILL)


@pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is Linux's")
async def test_a_server_killed_outright_leaves_no_panel_running() -> None:
    server = WebServer("demo")
    seen: list[Process] = []
    try:
        async with panels_open(server, 1) as seen:
            os.kill(server.process.pid, signal.SIGKILL)
            server.stop()
            poll_until(
                lambda: not any(running(panel) for panel in seen),
                what="its panels (the spare too) end when the server dies",
            )
    finally:
        server.stop(signal.SIGKILL)
        for left in seen:  # only if the test failed: leave nothing behind
            if running(left):
                os.kill(left.pid, signal.SIGKILL)


async def test_it_serves_an_attached_app_and_a_recording(tmp_path: Path) -> None:
    """The other panels web serves, each drawn over a websocket."""
    app = DemoProcess(None, "--port", "0")
    try:
        assert app.process.stdout is not None
        said = [app.process.stdout.readline() for _ in range(2)]
        token = said[1].removeprefix("token: ").strip()
        for args, drawn in (
            (("attach", "--token", token, app.address), b"paragraph-content"),
            (("replay", str(write_session(tmp_path / "session.jsonl.gz"))), b"event "),
        ):
            server = WebServer(*args)
            try:
                async with (
                    aiohttp.ClientSession() as session,
                    session.ws_connect(
                        f"{server.base}/ws?token={server.token}", origin=server.base
                    ) as websocket,
                ):
                    assert drawn in await read_until(websocket, drawn), args
            finally:
                assert server.stop() == 0
    finally:
        app.stop()
