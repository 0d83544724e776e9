"""The Preview tab: the selected channel's live value, drawn by its widget (or as JSON).

A metric channel gets one card per producer (its value, change and sparkline), so two
sources on one channel never mix their series; the cards come newest first.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.reactive import reactive
from textual.widgets import ContentSwitcher, Label, Static

from mapstore_core import MetricData, ParagraphContent, TableData
from mapstore_tui._format import json_text, plural
from mapstore_tui.widgets.previews import MetricWidget, ParagraphWidget, TableWidget

__all__ = ["ChannelPreview", "PreviewState"]

_MODELS: dict[str, type[BaseModel]] = {
    "ParagraphContent": ParagraphContent,
    "TableData": TableData,
    "MetricData": MetricData,
}
_WIDGET_IDS = {
    "ParagraphContent": "preview-paragraph",
    "TableData": "preview-table",
    "MetricData": "preview-metric",
}


class PreviewState(BaseModel):
    """What the preview shows: the schema, the producers' values and the newest one."""

    channel: str | None = None
    schema_name: str | None = None
    values: dict[str, Any] = {}
    newest: str | None = None
    order: list[str] = []
    """The producers holding a value, in the order their cards are drawn."""
    trends: dict[str, list[float]] = {}
    """Recent metric values per producer (for each card's sparkline)."""


class ChannelPreview(Vertical):
    """Draws ``state`` with the widget of the channel's schema; raw channels as JSON."""

    DEFAULT_CSS = """
    ChannelPreview > .caption {
        color: $text-muted; padding: 0 1; width: 100%; height: 1;
        text-wrap: nowrap; text-overflow: ellipsis;
    }
    ChannelPreview > ContentSwitcher { height: 1fr; }
    ChannelPreview #preview-json { padding: 0 1; }
    ChannelPreview #preview-metric > MetricWidget { margin: 0 1; }
    """

    state: reactive[PreviewState] = reactive(PreviewState, always_update=True)

    def compose(self) -> ComposeResult:
        yield Label("", classes="caption")
        with ContentSwitcher(initial="preview-json"):
            yield VerticalScroll(ParagraphWidget(), id="preview-paragraph")
            yield VerticalScroll(TableWidget(), id="preview-table")
            yield VerticalScroll(id="preview-metric")
            yield VerticalScroll(Static("", id="preview-json-text"), id="preview-json")

    def watch_state(self, state: PreviewState) -> None:
        if not self.is_mounted:
            return
        caption = self.query_one(".caption", Label)
        switcher = self.query_one(ContentSwitcher)
        if state.channel is None:
            caption.update("Select a channel.", layout=False)
            switcher.current = "preview-json"
            self.query_one("#preview-json-text", Static).update("")
            return
        count = len(state.values)
        holding = plural(count, "producer")
        if state.schema_name == "MetricData" and count > 1:
            caption.update(f"MetricData · {holding} with a value: one card each", layout=False)
        else:
            source = ("from ", (state.newest, "bold")) if state.newest else ("no value",)
            caption.update(  # names are data: assembled as text, never read as markup
                Text.assemble(
                    f"{state.schema_name or 'raw'} · ", *source, f" ({holding} with a value)"
                ),
                layout=False,
            )
        model = _MODELS.get(state.schema_name or "")
        if model is None:
            switcher.current = "preview-json"
            text = json_text(state.values) if state.values else "(no values)"
            self.query_one("#preview-json-text", Static).update(Text(text))
            return
        switcher.current = _WIDGET_IDS[model.__name__]
        if model is MetricData:
            self._show_metrics(state)
            return
        value = self._parse(model, state, state.newest)
        if model is TableData:
            self.query_one(TableWidget).value = value
        else:
            self.query_one(ParagraphWidget).value = value

    @staticmethod
    def _parse(model: type[BaseModel], state: PreviewState, producer: str | None) -> Any:
        if producer is None or producer not in state.values:
            return None
        try:
            return model.model_validate(state.values[producer])
        except ValidationError:
            return None  # a raw producer's bad payload: the JSON tab of History shows it

    def _show_metrics(self, state: PreviewState) -> None:
        """One card per producer, in ``state.order``; cards are reused while the set holds."""
        box = self.query_one("#preview-metric", VerticalScroll)
        order: list[str | None] = [p for p in state.order if p in state.values] or [None]
        cards = list(box.query(MetricWidget))
        if len(cards) != len(order):
            box.remove_children()
            cards = [MetricWidget(classes="-card") for _ in order]
            for card, producer in zip(cards, order, strict=True):
                self._fill(card, state, producer)
            box.mount_all(cards)
            return
        for card, producer in zip(cards, order, strict=True):
            self._fill(card, state, producer)

    def _fill(self, card: MetricWidget, state: PreviewState, producer: str | None) -> None:
        card.producer = producer
        if producer is None:
            title = "no producer holds a value"
        else:
            title = producer + (" · newest" if producer == state.newest else "")
        if card.border_title != title:  # a title that changes costs a repaint of the border
            card.border_title = title
        card.trend = state.trends.get(producer or "", [])
        card.value = self._parse(MetricData, state, producer)
