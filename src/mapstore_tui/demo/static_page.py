"""Pattern: static/initial page content is published once, on page load."""

from __future__ import annotations

from mapstore_core import (
    MapObjectStore,
    ParagraphContent,
    WidgetChannels,
    WidgetPublisher,
    create_widget_publisher,
)

WELCOME = """\
## Welcome to the mapstore demo

Every panel here is fed by a **producer registered close to its data source**:

- `market-data-service` — a REST service class (press `r` to refresh)
- `realtime-service` — a websocket stream, several updates a second
- `polling-service` — a poll every few seconds
- `user-input-form` — the form (press `i`)
- `job-bridge:<id>` — AI summaries through the job bridge (press `j`)
"""


class StaticPage:
    """The page's initial content, on ``paragraph-content``."""

    PRODUCER_ID = "static-page-content"

    def __init__(self, store: MapObjectStore, *, headless: bool = False) -> None:
        self._store, self.headless = store, headless
        self.publisher: WidgetPublisher[ParagraphContent] | None = None

    def load(self) -> None:
        """The page loads: register and publish the initial content once."""
        if self.publisher is None:
            self.publisher = create_widget_publisher(
                WidgetChannels.PARAGRAPH_CONTENT, self.PRODUCER_ID, store=self._store
            )
            self.publisher.publish(
                ParagraphContent(
                    title="Welcome", content=welcome_text(headless=self.headless), markdown=True
                )
            )

    def unload(self) -> None:
        """The page goes away."""
        if self.publisher is not None:
            self.publisher.close()
            self.publisher = None


KEY_HINTS = (" (press `r` to refresh)", " (press `i`)", " (press `j`)")


def welcome_text(*, headless: bool = False) -> str:
    """The welcome text; headless (``serve-demo``) it names no key: an attached panel has none."""
    if not headless:
        return WELCOME
    text = WELCOME
    for hint in KEY_HINTS:
        text = text.replace(hint, "")
    return text
