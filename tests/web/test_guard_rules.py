"""The guard's rules alone: which Host names and Origins it accepts, for each way to listen.

(``test_guard.py`` checks the same rules through a running server, for 127.0.0.1.)
"""

from __future__ import annotations

import socket
import string

from mapstore_tui.web import is_loopback
from mapstore_tui.web._guard import Guard, new_token


def test_a_token_is_256_random_bits_url_safe() -> None:
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(len(token) == 43 and token.isascii() for token in tokens)
    alphabet = set(string.ascii_letters + string.digits + "-_")
    assert all(set(token) <= alphabet for token in tokens)


def test_loopback_is_127_slash_8_localhost_and_ipv6_1() -> None:
    for host in ("127.0.0.1", "127.1.2.3", "localhost", "LOCALHOST", "::1", "[::1]"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "::", "", "192.168.1.5", "example.com", "localhost.example.com"):
        assert not is_loopback(host), host


def test_host_names_a_rebinding_page_would_send_are_refused_wherever_it_listens() -> None:
    for host in ("127.0.0.1", "0.0.0.0", "build-box.example"):
        guard = Guard("t", host=host)
        for name in ("evil.example", "evil.example:8000", "localhost.evil.example", ""):
            assert not guard.host_allowed(name), (host, name)
        for name in ("localhost:8000", "127.0.0.1:1", "[::1]:8000", "10.0.0.7:8000"):
            assert guard.host_allowed(name), (host, name)
    assert Guard("t", host="build-box.example").host_allowed("Build-Box.example:8000")
    assert not Guard("t", host="127.0.0.1").host_allowed(f"{socket.gethostname()}.evil:80")


def test_every_interface_accepts_this_machines_own_names() -> None:
    name = socket.gethostname().lower()
    assert Guard("t", host="0.0.0.0").host_allowed(f"{name}:8000")
    assert Guard("t", host="::").host_allowed(name)
    if name not in ("localhost",):
        assert not Guard("t", host="127.0.0.1").host_allowed(f"{name}:8000")


def test_a_public_url_adds_its_host_name_and_its_origin() -> None:
    guard = Guard("t", host="127.0.0.1", public_url="https://panel.example.com/")
    assert guard.host_allowed("panel.example.com")
    assert guard.origin_allowed("https://panel.example.com", "127.0.0.1:8000")
    assert not guard.origin_allowed("https://other.example.com", "127.0.0.1:8000")
    plain = Guard("t", host="127.0.0.1")
    assert not plain.host_allowed("panel.example.com")
    assert not plain.origin_allowed("https://panel.example.com", "127.0.0.1:8000")


def test_the_origin_must_be_the_pages_own() -> None:
    guard = Guard("t", host="127.0.0.1")
    assert guard.origin_allowed("http://127.0.0.1:8000", "127.0.0.1:8000")
    assert guard.origin_allowed("http://localhost:9000", "localhost:9000")  # a tunnel
    for origin in (None, "", "null", "http://127.0.0.1:8001", "http://localhost:8000"):
        assert not guard.origin_allowed(origin, "127.0.0.1:8000"), origin


def test_tokens_match_only_whole() -> None:
    guard = Guard("secret-token", host="127.0.0.1")
    assert guard.token_matches([None, "secret-token"])
    for wrong in ("", "secret-toke", "secret-token ", "SECRET-TOKEN", "sécret-token"):
        assert not guard.token_matches([wrong, None]), wrong
    assert not guard.token_matches([])


def test_a_bracketed_host_with_anything_but_a_port_after_it_is_refused() -> None:
    """`Host: [::1]evil` and `[::1]:x@evil.example` passed as [::1] (a browser sends
    neither, but the page's websocket address was built from them)."""
    guard = Guard("t", host="127.0.0.1")
    for name in ("[::1]evil", "[::1]:x@evil.example", "[::1]:", "[::1]:80x"):
        assert not guard.host_allowed(name), name
    for name in ("[::1]", "[::1]:8000"):
        assert guard.host_allowed(name), name
