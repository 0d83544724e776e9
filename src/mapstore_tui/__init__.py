"""mapstore_tui: the MapStore debug panel, a Textual app over a ``mapstore_core`` store.

Embed it over your own store::

    from mapstore_tui import MapStoreApp
    MapStoreApp(store=my_store).run()

Needs the ``tui`` extra (``pip install 'mapstore[tui]'``: Textual and rich). Public names
load on first use, so ``python -m mapstore_tui`` and the ``mapstore-tui`` command can say
which extra is missing before anything imports Textual.
"""

from __future__ import annotations

import typing as _typing
from importlib import import_module as _import_module

if _typing.TYPE_CHECKING:
    from mapstore_tui.app import MapStoreApp
    from mapstore_tui.view import LocalStoreView, StoreView
    from mapstore_tui.widgets.previews import (
        MetricWidget,
        ParagraphWidget,
        PreviewWidget,
        TableWidget,
    )

__version__ = "0.1.0"

_HOME = {
    "MapStoreApp": "mapstore_tui.app",
    "LocalStoreView": "mapstore_tui.view",
    "StoreView": "mapstore_tui.view",
    "MetricWidget": "mapstore_tui.widgets.previews",
    "ParagraphWidget": "mapstore_tui.widgets.previews",
    "PreviewWidget": "mapstore_tui.widgets.previews",
    "TableWidget": "mapstore_tui.widgets.previews",
}

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

if not _typing.TYPE_CHECKING:

    def __getattr__(name: str) -> object:
        """Load a public name's module on first use (PEP 562); the name is then cached here."""
        module_name = _HOME.get(name)
        if module_name is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(_import_module(module_name), name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    """The public names (loaded or not) and whatever this module already holds."""
    return sorted({*globals(), *__all__})
