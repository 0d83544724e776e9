"""The panel's widgets, one module each; the preview widgets are reusable on their own."""

from mapstore_tui.widgets.previews import MetricWidget, ParagraphWidget, PreviewWidget, TableWidget

__all__ = ["MetricWidget", "ParagraphWidget", "PreviewWidget", "TableWidget"]
