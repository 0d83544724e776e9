"""Reusable, consumer-only preview widgets for the three widget channels.

Each widget shows a ``value`` reactive (a model instance, or None). A parent can set it
(the debug panel does, from its read-only view), or the widget can consume a channel of a
store itself: ``MetricWidget(store=my_store)`` registers a widget consumer when mounted and
closes it when unmounted. Store callbacks run on publishing threads, so the widget only keeps
the latest value and posts one message per batch; the value is applied on the UI thread.

A channel may have several producers (``metric-data`` has a live user count and a polled
latency): ``producer=`` makes a bound widget follow one of them only, so its value and its
sparkline never mix two series.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel
from rich.markdown import Markdown as RichMarkdown
from rich.text import Text
from textual.app import ComposeResult
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Digits, Label, Sparkline, Static

from mapstore_core import (
    ChannelUpdate,
    MapObjectStore,
    MetricData,
    ParagraphContent,
    TableData,
    WidgetChannels,
    WidgetConsumer,
    consumer_only,
    create_widget_consumer,
)
from mapstore_core.plumbing import WakeOnceBuffer
from mapstore_tui.widgets.fitted import Column, FittedTable

__all__ = ["MetricWidget", "ParagraphWidget", "PreviewWidget", "TableWidget"]

M = TypeVar("M", bound=BaseModel)


@dataclass
class _Received(Message):
    """The bound consumer has a new value waiting (posted from any thread)."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, _Received)


class _Latest:
    """The bound consumer's updates, handed from publishing threads to the UI thread.

    Publishing threads only push into a ``WakeOnceBuffer``; ``take()`` drains it on the UI
    thread into ``updates``, which no other thread touches.
    """

    def __init__(self, wake: Callable[[], object], producer: str | None = None) -> None:
        self._buffer: WakeOnceBuffer[ChannelUpdate] = WakeOnceBuffer(wake, maxlen=60)
        self._producer = producer
        self.updates: deque[ChannelUpdate] = deque(maxlen=60)
        """The most recent updates, oldest first (UI thread only)."""

    def __call__(self, update: ChannelUpdate) -> None:
        if self._producer is None or update.producer_id == self._producer:
            self._buffer.push(update)

    def take(self) -> ChannelUpdate | None:
        """The newest update since the last call, or None (UI thread)."""
        taken = self._buffer.drain().items
        self.updates.extend(taken)
        return taken[-1] if taken else None


@consumer_only
class PreviewWidget(Widget, Generic[M]):
    """Base of the preview widgets: a ``value`` of the channel's model, set or consumed."""

    CHANNEL: ClassVar[WidgetChannels]
    value: reactive[Any] = reactive(None, always_update=True)

    def __init__(
        self,
        value: M | None = None,
        *,
        store: MapObjectStore | None = None,
        channel: str | None = None,
        consumer_id: str | None = None,
        producer: str | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._store = store
        self._channel = channel or str(self.CHANNEL)
        self._consumer_id = consumer_id
        self.producer = producer
        """The one producer this widget follows (None: the channel's newest value)."""
        self._consumer: WidgetConsumer[Any] | None = None
        self._latest = _Latest(lambda: self.post_message(_Received()), producer)
        self.set_reactive(PreviewWidget.value, value)
        if producer is not None:
            self.border_title = producer

    @property
    def consumer(self) -> WidgetConsumer[Any] | None:
        """The widget's own consumer when bound to a store."""
        return self._consumer

    def on_mount(self) -> None:
        if self._store is not None:
            self._consumer = create_widget_consumer(
                self._channel,
                self._consumer_id or f"{type(self).__name__.lower()}-preview",
                store=self._store,
                callback=self._latest,
            )
            if self.producer is None:
                self.value = self._consumer.value
            else:
                self.value = self._consumer.values.get(self.producer)
        self.show(self.value)

    def on_unmount(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None

    def on__received(self, message: _Received) -> None:
        update = self._latest.take()
        if update is not None:
            self.value = update.value

    def watch_value(self, value: M | None) -> None:
        if self.is_mounted:
            self.show(value)

    def show(self, value: M | None) -> None:
        """Draw ``value`` (None: the channel holds nothing)."""
        raise NotImplementedError


class ParagraphWidget(PreviewWidget[ParagraphContent]):
    """A paragraph: its title, then the text (rendered as Markdown when ``markdown``).

    Markdown is drawn by rich into one ``Static``: a document of many widgets would cost a
    layout pass per block on every update.
    """

    CHANNEL = WidgetChannels.PARAGRAPH_CONTENT
    DEFAULT_CSS = """
    ParagraphWidget { height: auto; padding: 0 1; }
    ParagraphWidget > .title {
        text-style: bold; color: $accent; width: 100%; text-wrap: nowrap; text-overflow: ellipsis;
    }
    ParagraphWidget > .body { height: auto; margin-top: 1; }
    """

    def compose(self) -> ComposeResult:
        yield Label("", classes="title")
        yield Static("", classes="body")

    def show(self, value: ParagraphContent | None) -> None:
        title = self.query_one(".title", Label)
        body = self.query_one(".body", Static)
        if value is None:
            title.update("(no paragraph)")
            body.update("")
            return
        title.update(Text(value.title))  # a payload is data, never markup
        body.update(RichMarkdown(value.content) if value.markdown else Text(value.content))


class _Table(FittedTable):
    """The table preview's grid: columns of numbers never shrink, text ends in ``…``."""

    def __init__(self) -> None:
        super().__init__(cursor=False)
        self.spec: tuple[Column, ...] = ()

    @property
    def columns_spec(self) -> tuple[Column, ...]:
        return self.spec


class TableWidget(PreviewWidget[TableData]):
    """A table with its title. Numbers are right-aligned and never cut."""

    CHANNEL = WidgetChannels.TABLE_DATA
    DEFAULT_CSS = """
    TableWidget { height: auto; max-height: 100%; padding: 0 1; }
    TableWidget > .title {
        text-style: bold; color: $accent; width: 100%; text-wrap: nowrap; text-overflow: ellipsis;
    }
    TableWidget > DataTable { height: auto; max-height: 20; }
    """

    def compose(self) -> ComposeResult:
        yield Label("", classes="title")
        yield _Table()

    def show(self, value: TableData | None) -> None:
        title = self.query_one(".title", Label)
        table = self.query_one(_Table)
        if value is None:
            title.update("(no table)")
            table.spec = ()
            table.show([])
            return
        title.update(Text(value.title))
        numeric = [
            all(isinstance(row[i], int | float) for row in value.rows if row[i] is not None)
            and any(row[i] is not None for row in value.rows)
            for i in range(len(value.headers))
        ]
        table.spec = tuple(
            Column(str(header), "number" if number else "text", floor=6)
            for header, number in zip(value.headers, numeric, strict=True)
        )
        table.show(
            [(None, ["" if cell is None else str(cell) for cell in row]) for row in value.rows]
        )


def _finite(values: list[float]) -> list[float]:
    """The values a sparkline can draw: Textual's raises on NaN or infinity.

    Models refuse them; a trend set by hand is not validated.
    """
    return [value for value in values if math.isfinite(value)]


_ARROWS = {"increase": ("▲", "green"), "decrease": ("▼", "red"), "neutral": ("▶", "$text-muted")}


class MetricWidget(PreviewWidget[MetricData]):
    """A metric: label, the value in big digits, a coloured change arrow, a sparkline."""

    CHANNEL = WidgetChannels.METRIC_DATA
    DEFAULT_CSS = """
    MetricWidget { height: auto; padding: 0 1; }
    MetricWidget > .label { text-style: bold; color: $accent; }
    MetricWidget > Digits { width: 100%; }
    MetricWidget > .change, MetricWidget > .label {
        width: 100%; height: 1; text-wrap: nowrap; text-overflow: ellipsis;
    }
    MetricWidget > Sparkline { height: 2; width: 100%; max-width: 48; }
    MetricWidget.-card { border: round $primary-muted; border-title-color: $accent; }
    """

    trend: reactive[list[float]] = reactive(list, always_update=True)

    def compose(self) -> ComposeResult:
        yield Label("", classes="label")
        yield Digits("")
        yield Static("", classes="change")
        yield Sparkline([])

    def on__received(self, message: _Received) -> None:
        super().on__received(message)
        self.trend = [
            float(u.value.value)
            for u in self._latest.updates
            if u.value is not None and isinstance(u.value.value, int | float)
        ]

    def watch_trend(self, trend: list[float]) -> None:
        if self.is_mounted:
            self.query_one(Sparkline).data = _finite(trend)

    def show(self, value: MetricData | None) -> None:
        label = "(no metric)" if value is None else value.label
        self.query_one(".label", Label).update(Text(label), layout=False)
        digits = self.query_one(Digits)
        change = self.query_one(".change", Static)
        if value is None:
            digits.update("")
            change.update("", layout=False)
            return
        shown = value.value
        digits.update(
            f"{shown:,.2f}".rstrip("0").rstrip(".") if isinstance(shown, float) else str(shown)
        )
        arrow, colour = _ARROWS[value.change_type]
        amount = "" if value.change is None else f" {value.change:+g}"
        change.update(f"[{colour}]{arrow}{amount}[/] {value.change_type}", layout=False)
        self.query_one(Sparkline).data = _finite(self.trend)
