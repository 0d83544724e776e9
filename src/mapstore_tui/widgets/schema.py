"""The selected channel's model: its fields, their types and their docstrings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.padding import Padding
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

__all__ = ["CODE_STYLE", "SchemaFields", "SchemaPanel", "docstring_text", "field_type"]

CODE_STYLE = Style(bold=True, color="cyan")
"""How ``literal`` text of a docstring is drawn (as the help screen draws keys)."""

_LITERAL = re.compile(r"``(.+?)``|`([^`\n]+)`")

_TYPE_WIDTH = 16
"""Type wraps at its ``|`` past this: a union of literals must not take the description's room."""

_DEFAULT_WIDTH = 12
_DESCRIPTION_WIDTH = 30
"""Narrower than this, the description goes under its field instead of beside it."""


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


def docstring_text(value: Any) -> Text:
    """A docstring as drawn: its ``code`` (reST) or `code` in the code style, without backticks.

    Never read as markup: a schema may come from another process.
    """
    text = Text()
    source = value if isinstance(value, str) else "" if value is None else str(value)
    position = 0
    for match in _LITERAL.finditer(source):
        text.append(source[position : match.start()])
        text.append(match.group(1) or match.group(2), style=CODE_STYLE)
        position = match.end()
    text.append(source[position:])
    return text


@dataclass(frozen=True)
class _Field:
    name: str
    type: str
    required: bool
    default: str
    description: Text


class SchemaFields:
    """The fields as a table when the description gets room beside them, else as a list.

    Decided at render time from the width given, so the same schema reads well in a wide
    detail pane and at 80 columns.
    """

    def __init__(self, title: Text, fields: list[_Field]) -> None:
        self.title = title
        self.fields = fields

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.title
        yield ""
        if options.max_width - self._beside_width() >= _DESCRIPTION_WIDTH:
            yield self.table()
        else:
            yield from self._stacked()

    def _beside_width(self) -> int:
        """Columns taken by everything but the description (cells, padding, separators)."""
        name = max([len("Field"), *(len(f.name) for f in self.fields)])
        kind = min(_TYPE_WIDTH, max([len("Type"), *(len(f.type) for f in self.fields)]))
        default = min(_DEFAULT_WIDTH, max([len("Default"), *(len(f.default) for f in self.fields)]))
        return name + kind + len("Required") + default + 5 * 2 + 4

    def table(self) -> Table:
        table = Table(box=box.SIMPLE_HEAD, expand=True, pad_edge=False, leading=1)
        table.add_column("Field", style="bold", overflow="fold")
        table.add_column("Type", max_width=_TYPE_WIDTH, overflow="fold")
        table.add_column("Required", no_wrap=True)
        table.add_column("Default", max_width=_DEFAULT_WIDTH, overflow="ellipsis")
        table.add_column("Description", ratio=1, min_width=_DESCRIPTION_WIDTH)
        for field in self.fields:
            table.add_row(
                _text(field.name),
                _text(field.type),
                "yes" if field.required else "",
                _text(field.default),
                field.description,
            )
        return table

    def _stacked(self) -> RenderResult:
        for field in self.fields:
            head = Text.assemble((field.name, "bold"), ": ", field.type)
            if field.required:
                head.append(" (required)", style="dim")
            elif field.default:
                head.append(f" = {field.default}")
            yield head
            if field.description:
                yield Padding(field.description, (0, 0, 0, 2))


class SchemaPanel(Static):
    """Shows ``schema`` (a JSON schema dict) field by field, or says the channel is raw."""

    schema: reactive[dict[str, Any] | None] = reactive(None, always_update=True)
    channel: reactive[str | None] = reactive(None)
    """The channel whose schema it is (None: no channel is selected)."""

    def show(self, channel: str | None, schema: dict[str, Any] | None) -> None:
        """Show ``channel``'s schema (None for a raw channel)."""
        self.channel = channel
        self.schema = schema

    def watch_schema(self, schema: dict[str, Any] | None) -> None:
        if self.channel is None:
            self.update("Select a channel.")
            return
        if schema is None:
            self.update(
                Text.from_markup(
                    "[b]No schema[/b]: a raw channel. Payloads are stored as given; "
                    "give it one with [b]define_channel()[/b]."
                )
            )
            return
        title = docstring_text(
            f"{schema.get('title', 'Model')} — {schema.get('description', '')}".strip(" —")
        )
        listed = schema.get("required")
        required = {n for n in listed if isinstance(n, str)} if isinstance(listed, list) else set()
        properties = schema.get("properties")
        fields = [
            _Field(
                name=str(name),
                type=field_type(spec),
                required=name in required,
                default="" if "default" not in spec else repr(spec["default"]),
                description=docstring_text(spec.get("description", "")),
            )
            for name, spec in (
                (name, spec if isinstance(spec, dict) else {})
                for name, spec in (properties if isinstance(properties, dict) else {}).items()
            )
        ]
        self.update(SchemaFields(title, fields))
