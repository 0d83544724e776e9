"""Data flow: sources → channels → consumers, to answer "where does this data come from?"."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

__all__ = ["FlowTree"]


class FlowTree(Tree[str]):
    """Each source (producer) lists the channels it feeds and the consumers that read them."""

    flow: reactive[tuple[list[dict[str, Any]], list[dict[str, Any]]]] = reactive(
        lambda: ([], []), always_update=True
    )
    """(producers, consumers), as the view describes them."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("sources", id=id)
        self.show_root = False
        self._shape: tuple[tuple[Any, ...], ...] | None = None

    def watch_flow(self) -> None:
        producers, consumers = self.flow
        # The tree shows who is wired to whom, no counts: rebuild only when that changes,
        # so a busy fleet costs nothing per refresh and the cursor stays where it was.
        shape = tuple(
            (p.get("process"), p["id"], p["kind"], p["registered_at"], p["channel"])
            for p in producers
        ) + tuple((c.get("process"), c["id"], c["registered_at"], c["channel"]) for c in consumers)
        if shape == self._shape:
            return
        self._shape = shape
        readers: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for consumer in consumers:
            readers[consumer["channel"]].append(consumer)
        self.clear()
        # one source per id, kind and registration line: the line belongs to the producer
        by_source: dict[tuple[str, str, str, str], list[dict[str, Any]]] = defaultdict(list)
        for producer in producers:
            process = producer.get("process") or ""
            key = (process, producer["id"], producer["kind"], producer["registered_at"])
            by_source[key].append(producer)
        # a fleet: process → producer → channel → consumer → process
        fleet = any(p.get("process") for p in producers) or any(c.get("process") for c in consumers)
        processes: dict[str, TreeNode[str]] = {}
        for (process, source, kind, where), feeds in by_source.items():
            parent = self.root
            if fleet:
                name = process or "here"
                if name not in processes:
                    processes[name] = self.root.add(
                        Text.assemble(("▣ ", "magenta"), (name, "bold magenta")), expand=True
                    )
                parent = processes[name]
            node = parent.add(
                Text.assemble(
                    ("⬆ ", "green"), (source, "bold"), (f"  {kind}", "dim"), (f"  {where}", "dim")
                ),
                expand=True,
            )
            for producer in feeds:
                channel = producer["channel"]
                channel_node = node.add(
                    Text.assemble(("▶ ", "blue"), (channel, "bold blue")), expand=True
                )
                for consumer in readers.get(channel, []):
                    channel_node.add_leaf(
                        Text.assemble(
                            ("⬇ ", "cyan"),
                            consumer["id"],
                            (f"  {consumer['registered_at']}", "dim"),
                            (f"  → {consumer.get('process') or 'here'}", "magenta")
                            if fleet
                            else "",
                        )
                    )
                if not readers.get(channel):
                    channel_node.add_leaf(Text("(no consumers)", "dim italic"))
