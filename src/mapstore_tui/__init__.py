"""mapstore_tui: the MapStore debug panel, a Textual app over a ``mapstore_core`` store.

Embed it over your own store::

    from mapstore_tui import MapStoreApp
    MapStoreApp(store=my_store).run()
"""

from mapstore_tui.app import MapStoreApp
from mapstore_tui.view import LocalStoreView, StoreView
from mapstore_tui.widgets.previews import MetricWidget, ParagraphWidget, PreviewWidget, TableWidget

__version__ = "0.1.0"

__all__ = [
    "LocalStoreView",
    "MapStoreApp",
    "MetricWidget",
    "ParagraphWidget",
    "PreviewWidget",
    "StoreView",
    "TableWidget",
    "__version__",
]
