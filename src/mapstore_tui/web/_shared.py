"""What the command line, the server and its panels share (standard library only)."""

from __future__ import annotations

import ipaddress

__all__ = ["LOCAL_NAMES", "SERVER_ENV", "is_loopback"]

SERVER_ENV = "MAPSTORE_WEB_SERVER"
"""The environment variable that carries the server's pid to its panels (``_panel``)."""

LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback(host: str) -> bool:
    """Whether listening on ``host`` reaches this machine only."""
    if host.lower() in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
