"""The replay's what-if (``x``): pick a producer of the channel to replay without.

"What would this widget have shown without X?": the replay then runs as if X had never
published on the channel (its registration, rejections and close still happened).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

__all__ = ["SkipProducerScreen"]


class SkipProducerScreen(ModalScreen[str | None]):
    """Dismissed with the chosen producer (``id`` or ``id@process``), or None.

    Args:
        channel: The channel whose widget the what-if is about.
        producers: Its producers at the cursor, as ``values()`` names them.
    """

    AUTO_FOCUS = "OptionList"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Cancel"),
    ]
    DEFAULT_CSS = """
    SkipProducerScreen { align: center middle; }
    SkipProducerScreen > Vertical {
        width: 70; max-width: 100%; height: auto; max-height: 100%;
        border: thick $warning; background: $surface; padding: 0 1;
    }
    SkipProducerScreen Label { width: 100%; margin-bottom: 1; }
    SkipProducerScreen OptionList { height: auto; max-height: 12; }
    """

    def __init__(self, channel: str, producers: list[str]) -> None:
        super().__init__()
        self._channel = channel
        self._producers = producers

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "What if…"
            yield Label(
                Text.assemble(
                    "Replay as if this producer had never published on ",
                    (self._channel, "bold"),
                    " (enter picks, escape cancels; x undoes the what-if):",
                )
            )
            yield OptionList(*(Option(Text(key), id=key) for key in self._producers))

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
