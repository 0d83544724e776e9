"""Parts of the web server that hostile input reaches, alone: the browser's message
envelope, the log line (the token hidden, the rate bounded) and the page's websocket URL."""

from __future__ import annotations

import io
import logging

import pytest

from mapstore_tui.web._server import _envelope, quiet_logging


def test_a_message_nested_past_the_parsers_depth_is_ignored_not_an_error() -> None:
    """`[[[[…]]]]` raised RecursionError, which closed the socket and logged an error."""
    assert _envelope("[" * 100_000 + "]" * 100_000) is None
    assert _envelope('["stdin", "q"]') == ("stdin", "q")
    assert _envelope("not json") is None


def test_log_lines_hide_the_token_and_a_flood_is_cut_short(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A request line too long is quoted back by aiohttp, token and all; and each of
    thousands of refused accepts (descriptors exhausted) was logged with a traceback."""
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    undo = quiet_logging(redact=("SECRET-TOKEN",))
    try:
        log = logging.getLogger("aiohttp.server")
        log.warning("Bad request: b'/?token=SECRET-TOKEN&pad=AAAA'")
        try:
            raise OSError(24, "Too many open files")
        except OSError:
            for _ in range(1000):
                logging.getLogger("asyncio").exception("socket.accept() out of system resource")
    finally:
        undo()
    lines = err.getvalue().splitlines()
    assert "SECRET-TOKEN" not in err.getvalue() and "<token>" in lines[0]
    assert len(lines) <= 25  # a burst of 20, then one every 3 s
    assert not any("Traceback" in line for line in lines)
    assert all(line.startswith("mapstore-tui web: ") for line in lines)


async def test_behind_an_https_proxy_the_page_opens_its_websocket_with_wss() -> None:
    """With `--public-url https://…` (a proxy ending TLS) the page asked for
    `ws://panel.test:8443/ws`, which the page's own policy refused: nothing was drawn."""
    from aiohttp.test_utils import TestClient, TestServer

    from mapstore_tui.web._guard import Guard
    from mapstore_tui.web._server import PanelServer

    for public, expected in (
        ("https://panel.test:8443", 'data-session-websocket-url="wss://panel.test:8443/ws"'),
        (None, 'data-session-websocket-url="ws://127.0.0.1:8000/ws"'),
    ):
        guard = Guard("tok", host="127.0.0.1", public_url=public)
        server = PanelServer(
            ["true"], guard=guard, host="127.0.0.1", port=0, title="t", public_url=public,
            spare=False,
        )  # fmt: skip
        host = "panel.test:8443" if public else "127.0.0.1:8000"
        async with TestClient(TestServer(await server.make_app())) as client:
            page = await client.get("/", headers={"Host": host, "Cookie": f"{guard.cookie}=tok"})
            assert page.status == 200
            assert expected in await page.text()
