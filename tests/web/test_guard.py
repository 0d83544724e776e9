"""Who may reach ``mapstore-tui web``: the token, the Host check and the Origin check.

One real server (``web demo``) for the module, reached over HTTP and websockets from this
process: every refusal is a 401 or 403 with one plain line, and starts no panel process.
"""

from __future__ import annotations

import asyncio
import http.client
import re
import socket
from collections.abc import Iterator
from http.cookies import SimpleCookie

import aiohttp
import pytest

from tests.poll import poll_until
from tests.processes import running

from .helpers import WebServer, read_until


@pytest.fixture(scope="module")
def server() -> Iterator[WebServer]:
    web = WebServer("demo", "--seed", "3")
    try:
        yield web
    finally:
        assert web.stop() == 0
        assert "Traceback" not in web.stderr, web.stderr
        assert web.stdout_lines == [f"{web.url}\n"]  # the one line, even after every tab


def get(
    server: WebServer, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], str]:
    """One GET; (status, headers (last of each name), body)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        connection.close()


def cookie_of(server: WebServer) -> str:
    """The ``Cookie`` header a browser sends after opening the printed URL."""
    status, headers, _ = get(server, f"/?token={server.token}")
    assert status == 303
    cookie = SimpleCookie(headers["Set-Cookie"])
    [(name, morsel)] = cookie.items()
    return f"{name}={morsel.value}"


def refused(status: int, body: str, server: WebServer) -> bool:
    """A short plain refusal that gives nothing away."""
    return (
        status in (401, 403)
        and body.count("\n") == 1
        and server.token not in body
        and "Traceback" not in body
    )


def test_the_server_prints_one_url_with_a_long_random_token(server: WebServer) -> None:
    assert server.stdout_lines == [f"{server.url}\n"]
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/\?token=[A-Za-z0-9_-]{43}", server.url)
    assert "warning" not in server.stderr  # 127.0.0.1: nothing to warn about


def test_without_the_token_every_route_is_refused(server: WebServer) -> None:
    spare = server.settled()
    for path in ("/", "/static/js/textual.js", "/static/", "/download/x", "/ws", "/nope"):
        status, headers, body = get(server, path)
        assert status == 401, path
        assert headers["Content-Type"].startswith("text/plain")
        assert refused(status, body, server), body
    status, _, body = get(
        server, "/ws", {"Upgrade": "websocket", "Connection": "Upgrade", "Origin": server.base}
    )
    assert status == 401 and refused(status, body, server)
    assert server.panels() == [spare]  # not adopted, and no other started


def test_a_wrong_token_is_refused_in_the_query_and_in_the_cookie(server: WebServer) -> None:
    name = cookie_of(server).partition("=")[0]
    wrong = [server.token[:-1], server.token[:-1] + ("A" if server.token[-1] != "A" else "B")]
    for token in [*wrong, "", server.token.upper()]:
        if token == server.token:
            continue
        status, _, body = get(server, f"/?token={token}")
        assert status == 401 and refused(status, body, server), token
        status, _, body = get(server, "/", {"Cookie": f"{name}={token}"})
        assert status == 401 and refused(status, body, server), token
    # Another server's cookie (another name) carries nothing here.
    status, _, _ = get(server, "/", {"Cookie": f"mapstore-web-00000000={server.token}x"})
    assert status == 401


def test_the_printed_url_sets_a_strict_cookie_and_leaves_the_address_without_the_token(
    server: WebServer,
) -> None:
    status, headers, _ = get(server, f"/?fontsize=14&token={server.token}")
    assert status == 303
    assert headers["Location"] == "/?fontsize=14"
    cookie = headers["Set-Cookie"]
    assert server.token in cookie
    assert {"HttpOnly", "SameSite=Strict", "Path=/"} <= {p.strip() for p in cookie.split(";")}

    status, headers, page = get(server, "/?fontsize=14", {"Cookie": cookie_of(server)})
    assert status == 200
    assert f'data-session-websocket-url="ws://127.0.0.1:{server.port}/ws"' in page
    # Nothing from the internet: every address on the page is this server's.
    assert re.findall(r"(?:src|href)=\"(?!/static/|data:)", page) == []
    assert "googleapis" not in page and 'url("http' not in page
    assert headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"


def test_a_host_name_that_is_not_ours_is_refused(server: WebServer) -> None:
    """DNS rebinding: a page of evil.example re-pointed at 127.0.0.1 sends its own Host."""
    cookie = cookie_of(server)
    for host in (f"evil.example:{server.port}", "evil.example", "127.0.0.1.evil.example"):
        status, _, body = get(server, "/", {"Host": host, "Cookie": cookie})
        assert status == 403 and refused(status, body, server), host
        status, _, body = get(server, f"/?token={server.token}", {"Host": host})
        assert status == 403, host
    for host in (f"localhost:{server.port}", f"127.0.0.1:{server.port}", "localhost:9000"):
        status, _, _ = get(server, "/", {"Host": host, "Cookie": cookie})
        assert status == 200, host  # any local port: an SSH tunnel's is not this one


async def test_a_websocket_opened_by_a_page_of_another_origin_is_refused(
    server: WebServer,
) -> None:
    cookie = cookie_of(server)
    spare = server.settled()
    async with aiohttp.ClientSession() as session:
        for origin in ("http://evil.example", f"http://127.0.0.1:{server.port + 1}", None):
            headers = {"Cookie": cookie}
            if origin is not None:
                headers["Origin"] = origin
            with pytest.raises(aiohttp.WSServerHandshakeError) as refusal:
                await session.ws_connect(f"{server.base}/ws", headers=headers)
            assert refusal.value.status == 403, origin
        assert server.panels() == [spare]
        # The page's own origin, with the same cookie, gets its panel (the spare).
        async with session.ws_connect(
            f"{server.base}/ws", headers={"Cookie": cookie, "Origin": server.base}
        ) as websocket:
            drawn = await read_until(websocket, b"paragraph-content")
            assert b"MapStore" in drawn
            assert running(spare)
    server.settled(gone=[spare])  # the panel ends with its websocket


async def test_hostile_websocket_messages_are_ignored_and_an_oversized_one_closes_its_socket(
    server: WebServer,
) -> None:
    spare = server.settled()
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(
            f"{server.base}/ws?token={server.token}", origin=server.base
        ) as websocket,
    ):
        await read_until(websocket, b"paragraph-content")
        for junk in (
            "not json",
            "[]",
            "{}",
            "[1, 2]",
            '["stdin", 5]',
            '["stdin", "\\ud800"]',
            '["resize", {"width": "wide", "height": -1}]',
            '["resize", {"width": 1e308, "height": true}]',
            '["resize", 3]',
            '["ping", {"a": 1}]',
            '["unknown"]',
        ):
            await websocket.send_str(junk)
        await websocket.send_bytes(b"\x00\xff")
        await websocket.send_str('["ping", "still-here"]')
        assert await read_until(websocket, b"still-here", text=True)
        await websocket.send_str('["stdin", "' + "x" * (300 * 1024) + '"]')
        message = await asyncio.wait_for(_closed(websocket), 30)
        assert message == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
    server.settled(gone=[spare])  # the panel ends with its websocket
    status, _, _ = get(server, f"/?token={server.token}")
    assert status == 303  # the server goes on
    assert "Traceback" not in server.stderr


async def _closed(websocket: aiohttp.ClientWebSocketResponse) -> int | None:
    async for _ in websocket:
        pass
    return websocket.close_code


def test_a_malformed_request_is_refused_and_told_in_one_printable_line(
    server: WebServer,
) -> None:
    before = server.stderr
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as raw:
        raw.sendall(b"GET /\x1b[2J" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert raw.recv(64).startswith(b"HTTP/1.0 400")
    told = poll_until(lambda: server.stderr[len(before) :], what="the server tells the refusal")
    assert told.count("\n") == 1 and len(told) < 400, told
    assert "\x1b" not in told and "Traceback" not in told
