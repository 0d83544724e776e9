"""mapstore_tui: the MapStore debug panel, a Textual app over a ``mapstore_core`` store."""

__version__ = "0.1.0"

__all__ = ["__version__"]
