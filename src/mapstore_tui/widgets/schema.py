"""The selected channel's model: its fields, their types and their docstrings."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

__all__ = ["SchemaPanel", "field_type"]


def field_type(spec: dict[str, Any]) -> str:
    """A JSON-schema property's type, written as a person would."""
    if "anyOf" in spec:
        return " | ".join(field_type(option) for option in spec["anyOf"])
    if "enum" in spec:
        return " | ".join(repr(v) for v in spec["enum"])
    if "const" in spec:
        return repr(spec["const"])
    if "$ref" in spec:
        return str(spec["$ref"]).rsplit("/", 1)[-1]
    kind = spec.get("type", "any")
    if kind == "array":
        return f"list[{field_type(spec.get('items', {}))}]"
    return {
        "string": "str",
        "integer": "int",
        "number": "float",
        "boolean": "bool",
        "null": "None",
    }.get(str(kind), str(kind))


class SchemaPanel(Static):
    """Shows ``schema`` (a JSON schema dict) as a table, or says the channel is raw."""

    schema: reactive[dict[str, Any] | None] = reactive(None, always_update=True)

    def watch_schema(self, schema: dict[str, Any] | None) -> None:
        if schema is None:
            self.update(
                Text.from_markup(
                    "[b]No schema[/b]: a raw channel. Payloads are stored as given; "
                    "give it one with [b]define_channel()[/b]."
                )
            )
            return
        table = Table(
            title=f"{schema.get('title', 'Model')} — {schema.get('description', '')}".strip(" —"),
            title_justify="left",
            expand=True,
        )
        table.add_column("Field", style="bold")
        table.add_column("Type")
        table.add_column("Required")
        table.add_column("Default")
        table.add_column("Description", ratio=1)
        required = set(schema.get("required", []))
        for name, spec in schema.get("properties", {}).items():
            table.add_row(
                name,
                field_type(spec),
                "yes" if name in required else "",
                "" if "default" not in spec else repr(spec["default"]),
                spec.get("description", ""),
            )
        self.update(table)
