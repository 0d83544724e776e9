"""Everything that crosses a process boundary: the debug endpoint (server, client, wire format).

The store never imports this package to load; ``MapObjectStore.serve_debug`` imports it when
called. Public names are re-exported from ``mapstore_core``.
"""

from mapstore_core.remote._client import DebugClient, read_token
from mapstore_core.remote._server import DebugServer

__all__ = ["DebugClient", "DebugServer", "read_token"]
