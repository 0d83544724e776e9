"""The Redis link: stores in many processes share their producers (``store.link``).

The link reaches its store only through a ``StorePort``; nothing here imports Redis until a
link is made. Public names are re-exported from ``mapstore_core``.
"""

from mapstore_core.link._fleet import schema_diff
from mapstore_core.link._link import LinkStatus, StoreLink

__all__ = ["LinkStatus", "StoreLink", "schema_diff"]
