"""Plumbing that this distribution's transports and panels share: not the stable API.

``mapstore_tui`` and the transports are built on these; they are documented and typed, but
may change in any release without notice. An application needs none of them: its names are
in ``mapstore_core`` itself.

- ``WakeOnceBuffer`` / ``Drained``: hand items from any thread to one reader, waking it once
  per batch, with exact loss counts (the panel's feed and previews, the debug endpoint).
- ``JsonReads``: a store's (or a mirror's) reads as JSON data, the one shape the debug
  endpoint answers in and the panel reads.
- ``Listeners``: who is told a store's events, by kind (the store's, a mirror's, a view's).
- ``update_event``: the event of a publish or clear (``ChannelUpdate``), as the store emits it.
- ``jsonable``: any payload as JSON data (models dumped, unknown objects as strings), the
  shape every view shows values in.
- ``is_non_descriptive``: the doctor's rule for generic producer ids (``mapstore-lint`` uses
  it too).
- ``schema_diff``: how two channel models differ, and whether the change breaks consumers
  (the fleet's ``schema-mismatch`` rule). Loading it loads ``mapstore_core.link``.
"""

import typing as _typing
from importlib import import_module as _import_module

from mapstore_core._events import update_event
from mapstore_core._ids import is_non_descriptive
from mapstore_core._json_reads import JsonReads
from mapstore_core._jsonable import jsonable
from mapstore_core._listeners import Listeners
from mapstore_core._wake import Drained, WakeOnceBuffer

if _typing.TYPE_CHECKING:
    from mapstore_core.link._fleet import schema_diff

__all__ = [
    "Drained",
    "JsonReads",
    "Listeners",
    "WakeOnceBuffer",
    "is_non_descriptive",
    "jsonable",
    "schema_diff",
    "update_event",
]

if not _typing.TYPE_CHECKING:

    def __getattr__(name: str) -> object:
        """``schema_diff`` loads the link package on first use only."""
        if name != "schema_diff":
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = _import_module("mapstore_core.link._fleet").schema_diff
        globals()[name] = value
        return value
