"""The process-wide default store, the guide's ``mapStore``."""

from __future__ import annotations

from mapstore_core._store import MapObjectStore

__all__ = ["default_store", "map_store"]

map_store = MapObjectStore()
"""The store used when a function's ``store=`` argument is left out."""


def default_store(store: MapObjectStore | None) -> MapObjectStore:
    """Return ``store``, or the process-wide ``map_store`` when None."""
    return map_store if store is None else store
