"""The selected channel's model: its fields, their types and their docstrings."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

__all__ = ["SchemaPanel", "field_type"]


def field_type(spec: Any, depth: int = 0) -> str:
    """A JSON-schema property's type, written as a person would.

    A schema may come from another process: anything that is not the expected shape reads
    as ``any``, and nesting is followed 8 levels deep.
    """
    if not isinstance(spec, dict) or depth > 8:
        return "any" if not isinstance(spec, dict) else "…"
    options = spec.get("anyOf")
    if isinstance(options, list):
        return " | ".join(field_type(option, depth + 1) for option in options)
    if isinstance(spec.get("enum"), list):
        return " | ".join(repr(v) for v in spec["enum"])
    if "const" in spec:
        return repr(spec["const"])
    if "$ref" in spec:
        return str(spec["$ref"]).rsplit("/", 1)[-1]
    kind = spec.get("type", "any")
    if kind == "array":
        return f"list[{field_type(spec.get('items', {}), depth + 1)}]"
    return {
        "string": "str",
        "integer": "int",
        "number": "float",
        "boolean": "bool",
        "null": "None",
    }.get(str(kind), str(kind))


def _text(value: Any) -> Text:
    """A cell as plain text: a name or description is never read as markup."""
    return Text(value if isinstance(value, str) else "" if value is None else str(value))


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
        title = f"{schema.get('title', 'Model')} — {schema.get('description', '')}".strip(" —")
        table = Table(title=_text(title), title_justify="left", expand=True)
        table.add_column("Field", style="bold")
        table.add_column("Type")
        table.add_column("Required")
        table.add_column("Default")
        table.add_column("Description", ratio=1)
        listed = schema.get("required")
        required = {n for n in listed if isinstance(n, str)} if isinstance(listed, list) else set()
        properties = schema.get("properties")
        for name, spec in (properties if isinstance(properties, dict) else {}).items():
            spec = spec if isinstance(spec, dict) else {}
            table.add_row(
                _text(name),
                _text(field_type(spec)),
                "yes" if name in required else "",
                _text("" if "default" not in spec else repr(spec["default"])),
                _text(spec.get("description", "")),
            )
        self.update(table)
