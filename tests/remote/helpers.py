from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from typing import Any


def raw_connect(address: str) -> socket.socket:
    assert address.startswith("unix:")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(5)
    sock.connect(address[5:])
    return sock


def send(sock: socket.socket, message: dict[str, Any] | bytes) -> None:
    data = message if isinstance(message, bytes) else json.dumps(message).encode() + b"\n"
    sock.sendall(data)


def read_message(sock: socket.socket) -> dict[str, Any] | None:
    """One message, or None when the server closed the connection."""
    buffer = b""
    while not buffer.endswith(b"\n"):
        chunk = sock.recv(1)
        if not chunk:
            return None
        buffer += chunk
    message: dict[str, Any] = json.loads(buffer)
    return message


def hello(token: str | None, **overrides: Any) -> dict[str, Any]:
    return {
        "type": "hello",
        "protocol": "mapstore-debug",
        "version": 1,
        "token": token,
        **overrides,
    }


def eventually(check: Callable[[], bool], what: str, within: float = 10.0) -> None:
    """Wait for a condition (bounded; a correctness check, not a timing one)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.01)
    raise AssertionError(f"never happened: {what}")
