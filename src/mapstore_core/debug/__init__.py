"""The debug endpoint: a panel in another process attaches to a store (``serve_debug``).

The server streams the store's snapshot and then its events (``_events``' JSON form) and
syncs to each client, which folds them into a local ``StoreMirror``; the client trusts only
its own user. The store loads this package only when ``serve_debug`` is called. Public names
are re-exported from ``mapstore_core``, but ``ClientStatus`` (what ``DebugClient`` tells its
``on_status``), which lives here.
"""

from mapstore_core.debug._client import ClientStatus, DebugClient, read_token, read_token_file
from mapstore_core.debug._endpoints import DebugEndpoint, endpoint_dir, list_debug_endpoints
from mapstore_core.debug._server import DebugServer

__all__ = [
    "ClientStatus",
    "DebugClient",
    "DebugEndpoint",
    "DebugServer",
    "endpoint_dir",
    "list_debug_endpoints",
    "read_token",
    "read_token_file",
]
