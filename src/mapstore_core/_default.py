"""The process-wide default store, the guide's ``mapStore``."""

from __future__ import annotations

from mapstore_core._store import MapObjectStore

__all__ = ["map_store"]

map_store = MapObjectStore()
"""The store used when a function's ``store=`` argument is left out."""
