"""Everything that crosses a process boundary: the debug endpoint and the Redis store link.

The store never imports this package to load; ``MapObjectStore.serve_debug`` and
``MapObjectStore.link`` import it when called, and nothing here imports Redis until a link
is made. Public names are re-exported from ``mapstore_core``.
"""

from mapstore_core.remote._client import DebugClient, read_token, read_token_file
from mapstore_core.remote._endpoints import DebugEndpoint, endpoint_dir, list_debug_endpoints
from mapstore_core.remote._fleet import ProcessInfo, schema_diff
from mapstore_core.remote._link import LinkStatus, StoreLink
from mapstore_core.remote._server import DebugServer

__all__ = [
    "DebugClient",
    "DebugEndpoint",
    "DebugServer",
    "LinkStatus",
    "ProcessInfo",
    "StoreLink",
    "endpoint_dir",
    "list_debug_endpoints",
    "read_token",
    "read_token_file",
    "schema_diff",
]
