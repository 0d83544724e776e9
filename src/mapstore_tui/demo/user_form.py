"""Pattern: a user input form registers on mount and publishes on submit."""

from __future__ import annotations

from mapstore_core import (
    MapObjectStore,
    ParagraphContent,
    PublishValidationError,
    WidgetChannels,
    WidgetPublisher,
    create_widget_publisher,
)


class FormRejected(ValueError):
    """The form's input was refused; ``problems`` maps each field to what is wrong with it."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{field}: {msg}" for field, msg in problems.items()))


class UserInputForm:
    """A note form: title and text, published on ``paragraph-content``."""

    PRODUCER_ID = "user-input-form"
    MAX_TITLE = 60

    def __init__(self, store: MapObjectStore) -> None:
        self._store = store
        self.publisher: WidgetPublisher[ParagraphContent] | None = None

    def mount(self) -> None:
        """The form appears: register its producer."""
        if self.publisher is None:
            self.publisher = create_widget_publisher(
                WidgetChannels.PARAGRAPH_CONTENT, self.PRODUCER_ID, store=self._store
            )

    @classmethod
    def check(cls, title: str, content: str) -> dict[str, str]:
        """The form's own input rules, shown inline before anything is published."""
        problems: dict[str, str] = {}
        if not title.strip():
            problems["title"] = "a title is required"
        elif len(title) > cls.MAX_TITLE:
            problems["title"] = f"at most {cls.MAX_TITLE} characters"
        if not content.strip():
            problems["content"] = "some text is required"
        return problems

    def submit(self, title: str, content: str, *, markdown: bool = False) -> ParagraphContent:
        """Validate and publish; raises ``FormRejected`` with per-field problems."""
        problems = self.check(title, content)
        if problems:
            raise FormRejected(problems)
        if self.publisher is None:
            raise FormRejected({"form": "the form is not mounted"})
        try:
            update = self.publisher.publish(
                {"title": title.strip(), "content": content, "markdown": markdown}
            )
        except PublishValidationError as error:
            raise FormRejected(error.problems) from error
        value: ParagraphContent = update.value
        return value

    def unmount(self) -> None:
        """The form goes away: close its producer."""
        if self.publisher is not None:
            self.publisher.close()
            self.publisher = None
