"""``ToastPolicy``: which store events become a toast, worded for a person, never a flood.

Rejected payloads and failed jobs deserve a toast; everything is in the event log anyway.
At most ``per_batch`` toasts per redraw, and one per (kind, channel, producer) every
``every`` seconds of the injected clock: three consumers rejecting one producer's payload are
one problem, one toast. No Textual here: tested on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from mapstore_core import StoreEvent
from mapstore_tui._format import problems_text

__all__ = ["Toast", "ToastPolicy", "describe_rejection"]


@dataclass(frozen=True)
class Toast:
    """One notification: what ``App.notify`` gets."""

    title: str
    message: str
    severity: Literal["information", "warning", "error"]


def describe_rejection(event: StoreEvent) -> str:
    """Who rejected what, and which fields failed (from ``event.problems``)."""
    first_line = (event.message or "").splitlines()[0] if event.message else ""
    fields = problems_text(event.problems, first_line)
    if event.consumer_id:
        return (
            f"{event.consumer_id} skipped a value from {event.producer_id} on "
            f"{event.channel} that does not fit its model: {fields}"
        )
    return f"{event.producer_id} sent an invalid payload to {event.channel}: {fields}"


class ToastPolicy:
    """Turns batches of store events into the few toasts worth showing."""

    def __init__(
        self, clock: Callable[[], float], *, every: float = 10.0, per_batch: int = 3
    ) -> None:
        self.every = every
        self.per_batch = per_batch
        self._clock = clock
        self._shown: dict[tuple[str | None, ...], float] = {}

    def admit(self, events: Iterable[StoreEvent]) -> list[Toast]:
        """The toasts for ``events`` (oldest first), after the rate limits."""
        toasts: list[Toast] = []
        now = self._clock()
        for event in events:
            if len(toasts) == self.per_batch:
                break
            key = (event.kind, event.channel, event.producer_id)
            if now - self._shown.get(key, float("-inf")) < self.every:
                continue
            if event.kind == "validation_failed":
                toast = Toast("Invalid payload rejected", describe_rejection(event), "error")
            elif event.diagnostic is not None and event.diagnostic.rule == "job-failed":
                toast = Toast("Job failed", event.diagnostic.message, "warning")
            else:
                continue
            self._shown[key] = now
            toasts.append(toast)
        return toasts
