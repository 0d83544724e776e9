"""The Preview tab: the selected channel's live value, drawn by its widget (or as JSON)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.reactive import reactive
from textual.widgets import ContentSwitcher, Label, Static

from mapstore_core import MetricData, ParagraphContent, TableData
from mapstore_tui._format import json_text
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
    trend: list[float] = []


class ChannelPreview(Vertical):
    """Draws ``state`` with the widget of the channel's schema; raw channels as JSON."""

    DEFAULT_CSS = """
    ChannelPreview > .caption { color: $text-muted; padding: 0 1; width: 100%; height: 1; }
    ChannelPreview > ContentSwitcher { height: 1fr; }
    ChannelPreview #preview-json { padding: 0 1; }
    """

    state: reactive[PreviewState] = reactive(PreviewState, always_update=True)

    def compose(self) -> ComposeResult:
        yield Label("", classes="caption")
        with ContentSwitcher(initial="preview-json"):
            yield VerticalScroll(ParagraphWidget(), id="preview-paragraph")
            yield VerticalScroll(TableWidget(), id="preview-table")
            yield VerticalScroll(MetricWidget(), id="preview-metric")
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
        source = f"from [b]{state.newest}[/b]" if state.newest else "no value"
        caption.update(
            f"{state.schema_name or 'raw'} · {source} ({count} with a value)",
            layout=False,
        )
        model = _MODELS.get(state.schema_name or "")
        if model is None:
            switcher.current = "preview-json"
            text = json_text(state.values) if state.values else "(no values)"
            self.query_one("#preview-json-text", Static).update(text)
            return
        switcher.current = _WIDGET_IDS[model.__name__]
        value = None
        if state.newest is not None and state.newest in state.values:
            try:
                value = model.model_validate(state.values[state.newest])
            except ValidationError:
                value = None  # a raw producer's bad payload: the JSON tab of History shows it
        if isinstance(value, MetricData) or model is MetricData:
            metric = self.query_one(MetricWidget)
            metric.trend = state.trend
            metric.value = value
        elif model is TableData:
            self.query_one(TableWidget).value = value
        else:
            self.query_one(ParagraphWidget).value = value
