"""The doctor: the registration guide's anti-patterns as rules over a picture of the store.

The store takes the picture (``ProducerFacts``) under its locks; the rules here are pure
functions of it, so they are easy to test and cost nothing on the publish path.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from mapstore_core._ids import is_non_descriptive
from mapstore_core._records import Diagnostic

__all__ = [
    "ChurnFact",
    "ChurnTracker",
    "ProducerFacts",
    "diagnose",
    "duplicate_source",
    "is_non_descriptive",
    "producer_findings",
]

# A duplicate-source message names at most this many ids of its group (a channel fed from
# one loop can hold thousands; the message stays short and costs O(1) to build).
SHOWN_IDS = 5


class ProducerFacts(NamedTuple):
    """What the doctor needs to know about one open producer (a tuple: cheap to build)."""

    channel: str
    producer_id: str
    kind: str
    registered_at: str
    validated: bool
    channel_has_schema: bool
    publish_count: int
    leaked: bool
    widget: str | None
    job_error: str | None


@dataclass(frozen=True, slots=True)
class ChurnFact:
    """A call site that registered producers in a burst, and the last one it registered."""

    where: str
    channel: str
    producer_id: str
    registrations: int
    window: float


class ChurnTracker:
    """Registrations per call site, to spot one that registers in bursts (a render loop).

    A site that made ``threshold`` registrations within ``window`` seconds becomes a fact
    (kept: the finding outlives the burst). Fed with the registrations' own timestamps, so a
    mirror that folds the same ``registered`` events reaches the same facts. Not
    thread-safe: the store state's lock guards it.
    """

    __slots__ = ("facts", "stamps", "threshold", "window")

    def __init__(self, threshold: int, window: float) -> None:
        self.threshold = threshold
        self.window = window
        self.stamps: dict[str, deque[float]] = {}
        self.facts: dict[str, ChurnFact] = {}

    def note(self, where: str, channel: str, producer_id: str, now: float) -> None:
        """A local producer was registered at ``where`` at time ``now``."""
        stamps = self.stamps.get(where)
        if stamps is None:
            stamps = self.stamps[where] = deque(maxlen=self.threshold)
        stamps.append(now)
        if len(stamps) == self.threshold and now - stamps[0] <= self.window:
            self.facts[where] = ChurnFact(where, channel, producer_id, len(stamps), self.window)

    def for_channels(self, names: set[str]) -> list[ChurnFact]:
        """The facts about sites whose last burst was on one of ``names``."""
        return [fact for fact in self.facts.values() if fact.channel in names]

    def to_json(self) -> dict[str, Any]:
        """The record as JSON data (for a snapshot a mirror starts from)."""
        return {
            "threshold": self.threshold,
            "window": self.window,
            "stamps": {where: list(stamps) for where, stamps in self.stamps.items()},
            "facts": [
                [f.where, f.channel, f.producer_id, f.registrations, f.window]
                for f in self.facts.values()
            ],
        }

    @classmethod
    def from_json(cls, data: Any) -> ChurnTracker:
        """Rebuild a record from ``to_json`` data.

        Raises:
            ValueError: ``data`` is not such a record.
        """
        try:
            tracker = cls(int(data["threshold"]), float(data["window"]))
            for where, stamps in data["stamps"].items():
                tracker.stamps[str(where)] = deque(
                    (float(s) for s in stamps), maxlen=tracker.threshold
                )
            for where, channel, producer_id, registrations, window in data["facts"]:
                tracker.facts[str(where)] = ChurnFact(
                    str(where), str(channel), str(producer_id), int(registrations), float(window)
                )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"not a churn record: {exc}") from exc
        return tracker


def _rule_ids(producers: Iterable[ProducerFacts]) -> Iterable[Diagnostic]:
    for p in producers:
        if p.kind == "producer" and is_non_descriptive(p.producer_id):
            yield Diagnostic(
                "non-descriptive-id",
                "warning",
                p.channel,
                p.producer_id,
                f"producer id {p.producer_id!r} does not say which data source it is",
                p.registered_at,
                "name the source, e.g. 'market-data-service' or 'user-input-form'",
            )


_DUP_HINT = "keep one producer per data source and publish every update through it"


def duplicate_source(
    channel: str, where: str, producer_id: str, first_ids: Sequence[str], count: int
) -> Diagnostic:
    """The ``duplicate-source`` finding of one producer in a group of ``count`` from ``where``.

    ``first_ids`` are the group's first ids (only ``SHOWN_IDS`` of them are named).
    """
    ids = ", ".join(repr(i) for i in first_ids[:SHOWN_IDS])
    if count > SHOWN_IDS:
        ids += f", … and {count - SHOWN_IDS} more"
    return Diagnostic(
        "duplicate-source",
        "warning",
        channel,
        producer_id,
        f"{count} open producers on {channel!r} come from one source ({ids})",
        where,
        _DUP_HINT,
    )


def _rule_duplicate_source(producers: Sequence[ProducerFacts]) -> Iterable[Diagnostic]:
    by_site: dict[tuple[str, str], list[ProducerFacts]] = defaultdict(list)
    for p in producers:
        if p.kind == "producer":  # each bridge is its own job, so bridges never duplicate
            by_site[(p.channel, p.registered_at)].append(p)
    for (channel, where), group in by_site.items():
        if len(group) < 2:
            continue
        first = [p.producer_id for p in group[:SHOWN_IDS]]
        message = duplicate_source(channel, where, "", first, len(group)).message
        for p in group:
            yield Diagnostic(
                "duplicate-source", "warning", channel, p.producer_id, message, where, _DUP_HINT
            )


def _rule_widget(producers: Iterable[ProducerFacts]) -> Iterable[Diagnostic]:
    for p in producers:
        if p.widget is not None:
            yield Diagnostic(
                "producer-in-widget",
                "error",
                p.channel,
                p.producer_id,
                f"producer registered inside consumer-only widget {p.widget}",
                p.registered_at,
                "register the producer in the data source (service, form, job handler); "
                "let the widget only consume",
            )


def _rule_leaked(producers: Iterable[ProducerFacts]) -> Iterable[Diagnostic]:
    for p in producers:
        if p.leaked:
            yield Diagnostic(
                "leaked-producer",
                "error",
                p.channel,
                p.producer_id,
                "the producer was garbage-collected without close(); its value stays in the store",
                p.registered_at,
                "call close() when the owner goes away, or use the producer as a context manager",
            )


def _rule_unvalidated(producers: Iterable[ProducerFacts]) -> Iterable[Diagnostic]:
    for p in producers:
        if not p.validated and p.channel_has_schema and p.publish_count > 0:
            yield Diagnostic(
                "unvalidated-publish",
                "warning",
                p.channel,
                p.producer_id,
                f"raw register_producer() publishes unvalidated payloads on {p.channel!r}, "
                "which has a schema",
                p.registered_at,
                f"use create_widget_publisher({p.channel!r}, {p.producer_id!r})",
            )


def _rule_job_failed(producers: Iterable[ProducerFacts]) -> Iterable[Diagnostic]:
    for p in producers:
        if p.job_error is not None:
            yield Diagnostic(
                "job-failed",
                "error",
                p.channel,
                p.producer_id,
                f"the bridged job failed: {p.job_error}",
                p.registered_at,
                "show the failure to the user, then disconnect() the bridge",
            )


def _rule_churn(churn: Iterable[ChurnFact]) -> Iterable[Diagnostic]:
    for c in churn:
        yield Diagnostic(
            "registration-churn",
            "warning",
            c.channel,
            c.producer_id,
            f"this line registered {c.registrations} producers within {c.window:g} s "
            "(a render loop?)",
            c.where,
            "register once, early, close to the data source, and keep the producer",
        )


def producer_findings(p: ProducerFacts, churn: Sequence[ChurnFact]) -> list[Diagnostic]:
    """The findings about one producer alone (every rule but ``duplicate-source``).

    The store uses it when one producer changes, so a registration costs O(1), not a
    re-evaluation of the whole channel.
    """
    one = (p,)
    return [
        *_rule_ids(one),
        *_rule_widget(one),
        *_rule_leaked(one),
        *_rule_churn(churn),
        *_rule_unvalidated(one),
        *_rule_job_failed(one),
    ]


def diagnose(producers: Sequence[ProducerFacts], churn: Sequence[ChurnFact]) -> list[Diagnostic]:
    """Apply every rule; findings come grouped by rule, in docs/doctor.md's order."""
    return [
        *_rule_ids(producers),
        *_rule_duplicate_source(producers),
        *_rule_widget(producers),
        *_rule_leaked(producers),
        *_rule_churn(churn),
        *_rule_unvalidated(producers),
        *_rule_job_failed(producers),
    ]
