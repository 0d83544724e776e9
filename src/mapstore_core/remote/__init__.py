"""Everything that crosses a process boundary: the debug endpoint (server, client, wire format).

The store never imports this package to load; ``MapObjectStore.serve_debug`` imports it when
called. Public names are re-exported from ``mapstore_core``.
"""

from mapstore_core.remote._client import DebugClient, read_token, read_token_file
from mapstore_core.remote._endpoints import DebugEndpoint, endpoint_dir, list_debug_endpoints
from mapstore_core.remote._server import DebugServer

__all__ = [
    "DebugClient",
    "DebugEndpoint",
    "DebugServer",
    "endpoint_dir",
    "list_debug_endpoints",
    "read_token",
    "read_token_file",
]
