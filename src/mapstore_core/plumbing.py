"""Plumbing that this distribution's transports and panels share: not the stable API.

``mapstore_tui`` and ``mapstore_core.remote`` are built on these; they are documented and
typed, but may change in any release without notice. An application needs none of them: its
names are in ``mapstore_core`` itself.

- ``WakeOnceBuffer`` / ``Drained``: hand items from any thread to one reader, waking it once
  per batch, with exact loss counts (the panel's feed and previews, the debug endpoint).
- ``StoreReader``: a store's state as JSON-ready data, the one shape every debug view reads.
- ``is_non_descriptive``: the doctor's rule for generic producer ids (``mapstore-lint`` uses
  it too).
- ``schema_diff``: how two channel models differ, and whether the change breaks consumers
  (the fleet's ``schema-mismatch`` rule). Loading it loads ``mapstore_core.remote``.
"""

import typing as _typing
from importlib import import_module as _import_module

from mapstore_core._ids import is_non_descriptive
from mapstore_core._reader import StoreReader
from mapstore_core._wake import Drained, WakeOnceBuffer

if _typing.TYPE_CHECKING:
    from mapstore_core.remote._fleet import schema_diff

__all__ = ["Drained", "StoreReader", "WakeOnceBuffer", "is_non_descriptive", "schema_diff"]

if not _typing.TYPE_CHECKING:

    def __getattr__(name: str) -> object:
        """``schema_diff`` loads the remote package (asyncio, sockets) on first use only."""
        if name != "schema_diff":
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = _import_module("mapstore_core.remote").schema_diff
        globals()[name] = value
        return value
