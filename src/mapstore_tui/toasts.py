"""``ToastPolicy``: which store events become a toast, worded for a person, never a flood.

Rejected payloads and failed jobs deserve a toast; everything is in the event log anyway.
A problem (kind, channel, producer) is toasted when it first happens; while it repeats, at
most once every ``every`` seconds of the injected clock, saying how often it happened since
(three consumers rejecting one producer's payload are one problem, one toast; a sensor that
sends a bad value every second is one toast a minute, not a pane covered for good). At most
``per_batch`` toasts per redraw: past that, one more says how many problems are left to the
event log. No Textual here: tested on its own.
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
        self, clock: Callable[[], float], *, every: float = 60.0, per_batch: int = 2
    ) -> None:
        self.every = every
        self.per_batch = per_batch
        self._clock = clock
        self._shown: dict[tuple[str | None, ...], float] = {}
        self._since: dict[tuple[str | None, ...], int] = {}
        """Per problem, how often it happened since its last toast."""

    def admit(self, events: Iterable[StoreEvent]) -> list[Toast]:
        """The toasts for ``events`` (oldest first), after the rate limits."""
        toasts: list[Toast] = []
        left = 0
        now = self._clock()
        for event in events:
            toast = _toast(event)
            if toast is None:
                continue
            key = (event.kind, event.channel, event.producer_id)
            repeats = self._since.get(key, 0)
            if now - self._shown.get(key, float("-inf")) < self.every:
                self._since[key] = repeats + 1
                continue
            if len(toasts) == self.per_batch:
                left += 1
                continue
            if repeats:
                toast = Toast(
                    toast.title,
                    f"{toast.message} ({repeats:,} more since the last toast)",
                    toast.severity,
                )
            self._shown[key] = now
            self._since[key] = 0
            toasts.append(toast)
        if left:
            toasts.append(
                Toast(
                    "More problems",
                    f"{left:,} more problem(s): the event log (e) has them all",
                    "warning",
                )
            )
        return toasts


def _toast(event: StoreEvent) -> Toast | None:
    """The toast a problem deserves, or None if ``event`` is none."""
    if event.kind == "validation_failed":
        return Toast("Invalid payload rejected", describe_rejection(event), "error")
    if event.diagnostic is not None and event.diagnostic.rule == "job-failed":
        return Toast("Job failed", event.diagnostic.message, "warning")
    return None
