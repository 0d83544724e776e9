"""Who may reach the browser panel: the token, the ``Host`` and the ``Origin`` checks.

Every request (the page, its static files, downloads, the websocket) goes through
``Guard.middleware`` before any handler of textual-serve sees it, in this order:

1. **Host.** The ``Host`` header must name this server: ``localhost``, an IP literal, the
   name given to ``--host`` or ``--public-url`` (and this machine's names when listening on
   every interface). A page on ``evil.example`` whose name an attacker re-points at
   127.0.0.1 (DNS rebinding) sends ``Host: evil.example`` and is refused (403). The port is
   not compared, so an SSH tunnel to another local port works.
2. **Token.** The request carries the server's token (``secrets.token_urlsafe(32)``: 256
   bits) in the ``token`` query parameter or in this server's cookie; compared in constant
   time (``hmac.compare_digest``). Missing or wrong: 401. The page loaded with a good query
   token sets the cookie (``HttpOnly``, ``SameSite=Strict``, ``Path=/``) and redirects to
   the same address without the token, so the address bar can be shared without it.
3. **Origin** (websockets only). The browser names the page that opens a websocket in
   ``Origin``, and a page of another site in the same browser can open one to 127.0.0.1:
   the cross-site websocket hijack. The upgrade is refused (403) unless ``Origin`` is the
   page's own (``http://`` + the ``Host`` it asked for, or the ``--public-url``'s origin);
   a missing ``Origin`` is refused too.

Refusals are 401 or 403 with one short line of plain text; nothing is logged. Every
response also says it must not be framed by another site, sends no ``Referer`` and, for
the page, is not cached.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import socket
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlsplit

from aiohttp import hdrs, web
from multidict import MultiDict

from mapstore_tui.web._shared import LOCAL_NAMES, is_loopback

__all__ = ["Guard", "is_loopback", "new_token"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

WILDCARDS = frozenset({"", "0.0.0.0", "::"})

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' 'unsafe-inline'; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def new_token() -> str:
    """A fresh token: 32 random bytes from ``secrets``, URL-safe (43 characters)."""
    return secrets.token_urlsafe(32)


def _hostname(host_header: str) -> str:
    """The name in a ``Host`` header, without its port or IPv6 brackets, lower-cased."""
    host = host_header.strip().lower()
    if host.startswith("["):
        inside, _, rest = host[1:].partition("]")
        if rest and not (rest[0] == ":" and rest[1:].isdigit()):
            return ""  # `[::1]evil`, `[::1]:x@evil.example`: nothing this server answers to
        return inside
    if host.count(":") == 1:
        host = host.partition(":")[0]
    return host


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class Guard:
    """The checks, holding the token and the names this server answers to."""

    def __init__(
        self,
        token: str,
        *,
        host: str,
        public_url: str | None = None,
        index_path: str = "/",
        websocket_path: str = "/ws",
    ) -> None:
        self.token = token
        self.cookie = f"mapstore-web-{secrets.token_hex(4)}"
        """This server's cookie: its own name, so two servers on one host never collide."""
        self.index_path = index_path
        self.websocket_path = websocket_path
        self.public_origin = _origin(public_url) if public_url else None
        names = set(LOCAL_NAMES)
        for name in (host, urlsplit(public_url).hostname if public_url else None):
            if name:
                names.add(name.strip("[]").lower())
        if host in WILDCARDS:  # every interface: this machine's own names as well
            names.update(name.lower() for name in (socket.gethostname(), socket.getfqdn()))
        self.names = frozenset(names - WILDCARDS)

    def host_allowed(self, host_header: str | None) -> bool:
        """Whether ``Host`` names this server (never a name re-pointed at it: rebinding)."""
        if not host_header:
            return False
        name = _hostname(host_header)
        return name in self.names or _is_ip(name)

    def token_matches(self, candidates: Iterable[str | None]) -> bool:
        """Whether any candidate is the token, each compared in constant time."""
        expected = self.token.encode()
        found = False
        for candidate in candidates:
            if candidate is not None:
                found |= hmac.compare_digest(candidate.encode("utf-8", "replace"), expected)
        return found

    def origin_allowed(self, origin: str | None, host_header: str) -> bool:
        """Whether a websocket's ``Origin`` is the page's own."""
        if not origin:
            return False
        own = {f"http://{host_header.lower()}", f"https://{host_header.lower()}"}
        if self.public_origin:
            own.add(self.public_origin)
        return origin.lower().rstrip("/") in own

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Refuse what fails a check; set the cookie and drop the token from the address."""
        host = request.headers.get(hdrs.HOST)
        if host is None or not self.host_allowed(host):
            return _refuse(403, "this server does not answer to that host name")
        query_token = request.query.get("token")
        if not self.token_matches((query_token, request.cookies.get(self.cookie))):
            return _refuse(401, "the token is missing or wrong: open the URL the server printed")
        is_websocket = (
            request.path == self.websocket_path
            or request.headers.get(hdrs.UPGRADE, "").lower() == "websocket"
        )
        if is_websocket and not self.origin_allowed(request.headers.get(hdrs.ORIGIN), host):
            return _refuse(403, "a websocket from another site's page is refused")
        if query_token is not None and request.path == self.index_path:
            query = MultiDict(request.query)
            del query["token"]
            location = request.rel_url.with_query(query)
            response = web.HTTPSeeOther(location=str(location))
            response.set_cookie(
                self.cookie,
                self.token,
                httponly=True,
                samesite="Strict",
                path="/",
                secure=(self.public_origin or "").startswith("https://"),
            )
            return response
        return await handler(request)

    async def on_response_prepare(self, request: web.Request, response: web.StreamResponse) -> None:
        """Add the headers every response carries (the page: not cached either)."""
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.path == self.index_path:
            response.headers[hdrs.CACHE_CONTROL] = "no-store"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _refuse(status: int, why: str) -> web.Response:
    return web.Response(status=status, text=f"{why}\n", content_type="text/plain")
