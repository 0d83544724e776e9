"""The widget channels and their payload models.

Models are frozen (a payload shared by several consumers cannot be changed under them) and
forbid unknown fields (a typo such as ``contnet`` is an error, not silently dropped, and the
error suggests the field meant). Multi-word fields also accept their camelCase spelling
(``changeType``), as JavaScript clients send it; models dump snake_case unless asked
``by_alias=True``. Numbers are finite: NaN and infinity are refused, as JSON (the panel's
wire, the Redis link, recordings) cannot carry them and no widget can draw them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator
from pydantic.alias_generators import to_camel

from mapstore_core._public import public

__all__ = ["MetricData", "ParagraphContent", "TableData", "WidgetChannels"]

_CONFIG = ConfigDict(
    frozen=True,
    extra="forbid",
    use_attribute_docstrings=True,
    alias_generator=to_camel,
    validate_by_name=True,
    validate_by_alias=True,
    loc_by_alias=False,  # errors name the field as documented: ``change_type``
    allow_inf_nan=False,  # JSON cannot carry NaN or infinity, and no widget can draw them
)


@public
class WidgetChannels(StrEnum):
    """The channels of the built-in widgets; members compare equal to their names."""

    PARAGRAPH_CONTENT = "paragraph-content"
    TABLE_DATA = "table-data"
    METRIC_DATA = "metric-data"


@public
class ParagraphContent(BaseModel):
    """A titled block of text for a paragraph widget."""

    model_config = _CONFIG

    title: str
    """Heading shown above the text."""
    content: str
    """The text itself."""
    markdown: bool = False
    """Render ``content`` as Markdown instead of plain text."""


Cell = str | int | float | None


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


@public
class TableData(BaseModel):
    """A titled table: one header per column, rows of the same length."""

    model_config = _CONFIG

    title: str
    """Caption shown above the table."""
    headers: list[str]
    """Column headers, left to right."""
    rows: list[list[Cell]]
    """Rows of cells; each row has exactly one cell per header."""

    @field_validator("rows")
    @classmethod
    def _rows_match_headers(cls, rows: list[list[Cell]], info: ValidationInfo) -> list[list[Cell]]:
        headers = info.data.get("headers")
        if headers is None:  # headers failed on their own; that error is reported already
            return rows
        for index, row in enumerate(rows):
            if len(row) != len(headers):
                raise ValueError(
                    f"row {index} has {_count(len(row), 'cell')} "
                    f"but the table has {_count(len(headers), 'header')}"
                )
        return rows


@public
class MetricData(BaseModel):
    """One headline number with its change, for a metric widget."""

    model_config = _CONFIG

    label: str
    """What is measured, e.g. ``Active users``."""
    value: float | int | str
    """The current value (a string for preformatted values such as ``"99.9%"``)."""
    change: float | None = None
    """The change since the previous period, if known."""
    change_type: Literal["increase", "decrease", "neutral"] = "neutral"
    """Which way ``change`` goes, for colouring the arrow."""


WIDGET_MODELS: dict[WidgetChannels, type[BaseModel]] = {
    WidgetChannels.PARAGRAPH_CONTENT: ParagraphContent,
    WidgetChannels.TABLE_DATA: TableData,
    WidgetChannels.METRIC_DATA: MetricData,
}
"""The model of each widget channel; every store defines these three at creation."""
