"""The panel in a real browser: headless Chromium (Debian's) driven by Playwright.

One server (``web demo``) and one browser for the module. The page is read as text from
the terminal's own buffer (``helpers.TERMINAL_TEXT``), never as pixels; the screenshot is
a by-product (``MAPSTORE_WEB_SCREENSHOT=1`` also copies it to ``screenshots/``).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.poll import poll_until
from tests.processes import running

from .helpers import CHROMIUM, ROOT, TERMINAL_HOOK, TERMINAL_TEXT, WebServer, needs_chromium

pytestmark = needs_chromium

playwright_api = pytest.importorskip("playwright.sync_api")

SCREENSHOT = ROOT / "screenshots" / "web-demo.png"


@pytest.fixture(scope="module")
def server() -> Iterator[WebServer]:
    web = WebServer("demo", "--seed", "7")
    try:
        yield web
    finally:
        assert web.stop() == 0
        assert "Traceback" not in web.stderr, web.stderr


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    assert CHROMIUM is not None, "Chromium is required in CI"
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def context(browser: playwright_api.Browser) -> Iterator[playwright_api.BrowserContext]:
    """One browser profile: the cookie set by the first page is there for the others."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(30_000)
    context.add_init_script(TERMINAL_HOOK)
    try:
        yield context
    finally:
        context.close()


def terminal_text(page: playwright_api.Page) -> str:
    text = page.evaluate(TERMINAL_TEXT)
    assert isinstance(text, str)
    return text


def wait_for_text(page: playwright_api.Page, *needles: str) -> str:
    def shown() -> str | None:
        text = terminal_text(page)
        return text if all(needle in text for needle in needles) else None

    return poll_until(shown, what=f"the terminal shows {needles}", interval=0.05)


def test_the_panel_is_drawn_in_chromium_and_answers_keys(
    server: WebServer, context: playwright_api.BrowserContext, tmp_path: Path
) -> None:
    server.spare_blocked()  # the tab adopts a panel that has waited, its pipe full
    page = context.new_page()
    page.goto(server.url)
    assert page.url == f"{server.base}/"  # the token left the address bar for the cookie
    first = wait_for_text(page, "MapStore · demo", "paragraph-content", "l Log Producers")
    assert "Channel: paragraph-content" not in first
    assert "Producers overview" not in first

    page.focus(".xterm-helper-textarea")
    page.keyboard.press("l")
    shown = wait_for_text(page, "Channel: paragraph-content", "static-page-content (producer)")
    assert "Channel: table-data" in shown

    page.screenshot(path=str(tmp_path / "web-demo.png"))
    png = (tmp_path / "web-demo.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    if os.environ.get("MAPSTORE_WEB_SCREENSHOT"):
        shutil.copyfile(tmp_path / "web-demo.png", SCREENSHOT)

    page.keyboard.press("o")
    wait_for_text(page, "Producers overview", "market-data-service")
    page.close()


def test_a_page_of_another_site_in_the_same_browser_cannot_open_the_panels_websocket(
    server: WebServer, context: playwright_api.BrowserContext
) -> None:
    """The cross-site websocket hijack: the cookie goes along, the Origin check refuses."""
    page = context.new_page()
    page.goto(server.url)  # the browser holds the cookie, as a user's would
    cookies = [c for c in context.cookies() if c["value"] == server.token]
    assert cookies and cookies[0]["httpOnly"] and cookies[0]["sameSite"] == "Strict"
    wait_for_text(page, "paragraph-content")
    page.close()
    spare = server.settled()

    with foreign_site(server.port) as other:
        foreign = context.new_page()
        try:
            foreign.goto(f"{other}/attack.html")
            foreign.wait_for_function("document.title !== ''")
            assert foreign.title() == "refused"
            assert server.panels() == [spare]
        finally:
            foreign.close()


@contextmanager
def foreign_site(port: int) -> Iterator[str]:
    """Another web server on this machine (same site: cookies ignore ports), whose page
    tries the panel's websocket. A real one: Chromium's local-network checks would block
    a page from elsewhere before our server is asked, and other browsers have none."""
    page = f"""<title></title><script>
      const ws = new WebSocket("ws://127.0.0.1:{port}/ws");
      ws.onopen = () => {{ document.title = "opened"; ws.send('["stdin", "q"]'); }};
      ws.onclose = () => {{ if (document.title !== "opened") document.title = "refused"; }};
    </script>""".encode()

    class Attack(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Attack)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_closing_the_tab_ends_its_panel_process(
    server: WebServer, context: playwright_api.BrowserContext
) -> None:
    spare = server.settled()
    page = context.new_page()
    page.goto(f"{server.base}/")  # the cookie is enough now
    wait_for_text(page, "paragraph-content")
    assert running(spare)  # the tab's panel: the spare, adopted
    page.close()
    server.settled(gone=[spare])  # it ended; a new spare waits for the next tab
