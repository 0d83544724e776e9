"""Data flow: sources → channels → consumers, to answer "where does this data come from?"."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Tree

__all__ = ["FlowTree"]


class FlowTree(Tree[str]):
    """Each source (producer) lists the channels it feeds and the consumers that read them."""

    producers: reactive[list[dict[str, Any]]] = reactive(list, always_update=True)
    consumers: reactive[list[dict[str, Any]]] = reactive(list, always_update=True)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("sources", id=id)
        self.show_root = False

    def watch_producers(self) -> None:
        self._rebuild()

    def watch_consumers(self) -> None:
        self._rebuild()

    def _rebuild(self) -> None:
        readers: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for consumer in self.consumers:
            readers[consumer["channel"]].append(consumer)
        self.clear()
        by_source: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for producer in self.producers:
            by_source[(producer["id"], producer["kind"])].append(producer)
        for (source, kind), feeds in by_source.items():
            node = self.root.add(
                Text.assemble(("⬆ ", "green"), (source, "bold"), (f"  {kind}", "dim")),
                expand=True,
            )
            for producer in feeds:
                channel = producer["channel"]
                channel_node = node.add(
                    Text.assemble(
                        ("▶ ", "blue"),
                        (channel, "bold blue"),
                        (f"  {producer['registered_at']}", "dim"),
                    ),
                    expand=True,
                )
                for consumer in readers.get(channel, []):
                    channel_node.add_leaf(
                        Text.assemble(
                            ("⬇ ", "cyan"),
                            consumer["id"],
                            (f"  {consumer['registered_at']}", "dim"),
                        )
                    )
                if not readers.get(channel):
                    channel_node.add_leaf(Text("(no consumers)", "dim italic"))
