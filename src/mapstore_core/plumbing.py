"""Parts that serve transports and panels (``mapstore_tui``), not the store's users.

Importable, typed and tested, but not the stable API of ``mapstore_core``: they may change
with the panel and the transports that use them.
"""

from mapstore_core._jsonable import jsonable
from mapstore_core._wake import Drained, WakeOnceBuffer

__all__ = ["Drained", "WakeOnceBuffer", "jsonable"]
