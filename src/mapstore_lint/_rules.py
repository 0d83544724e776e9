"""The registration guide's rules: small pure functions over one file's facts, one per rule.

Each takes plain records (``Registration``, from ``_facts``), never the AST, and says what it
finds as a ``Flag``: where, which rule, the message and the fix. ``# noqa`` and the column in
characters are applied afterwards (``_check``). What each rule catches and why the guide cares
is the catalogue, ``_catalogue.RULES``; the names are the runtime doctor's where they mean the
same thing, and non-descriptive ids are judged by the doctor's own ``is_non_descriptive``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

from mapstore_core._ids import is_non_descriptive
from mapstore_lint._catalogue import RULES
from mapstore_lint._facts import (
    WIDGET_CHANNELS,
    ClassFact,
    FileFacts,
    Registration,
    WidgetReason,
)
from mapstore_lint._findings import Finding, PendingWidgetCheck

__all__ = [
    "Flag",
    "duplicate_source",
    "file_rules",
    "kept_open",
    "missing_cleanup",
    "non_descriptive_id",
    "producer_in_widget",
    "producer_in_widget_across_files",
    "registration_in_frame",
    "registration_in_loop",
    "unvalidated_publish",
    "waits_on_other_files",
]

_FRAME_METHODS = frozenset({"render", "render_line", "render_lines", "compose"})
_WIDGET_VALUES = {value: member for member, value in WIDGET_CHANNELS.items()}
_TRAILING_DIGITS = re.compile(r"\d+$")
_LAST_PART = re.compile(r"[-_.: ]+[^-_.: ]*$")


class Flag(NamedTuple):
    """A finding before its file's ``# noqa`` is read: where (the AST's), rule, message, fix."""

    line: int
    offset: int
    rule: str
    message: str
    hint: str


def producer_in_widget(reg: Registration) -> Flag | None:
    """``producer-in-widget``: a registration in a class this file shows is consumer-only."""
    if reg.owner_why is None:
        return None
    return Flag(
        reg.line,
        reg.offset,
        "producer-in-widget",
        f"{reg.label}() in {reg.owner}.{reg.function or '<class body>'}: "
        f"{reg.owner} is {reg.owner_why}, and widgets consume only",
        RULES["producer-in-widget"].hint,
    )


def waits_on_other_files(reg: Registration) -> bool:
    """Whether ``producer-in-widget`` for this registration depends on other files' classes."""
    return reg.owner_why is None and reg.owner_across


def registration_in_frame(reg: Registration) -> Flag | None:
    """``registration-churn``: a registration in ``render``/``compose``/``watch_*``."""
    name = reg.function
    if name is None or not (name in _FRAME_METHODS or name.startswith("watch_")):
        return None
    return Flag(
        reg.line,
        reg.offset,
        "registration-churn",
        f"{reg.label}() inside {name}(), which runs again and again: "
        "a producer per frame or per change",
        RULES["registration-churn"].hint,
    )


def non_descriptive_id(reg: Registration) -> Flag | None:
    """``non-descriptive-id``: a known id the doctor would call generic, flagged where written."""
    if reg.producer_id is None or reg.id_at is None or not is_non_descriptive(reg.producer_id):
        return None
    source = "" if reg.id_is_literal else " (a constant)"
    line, offset = reg.id_at
    return Flag(
        line,
        offset,
        "non-descriptive-id",
        f"producer id {reg.producer_id!r}{source} does not say which data source it is",
        RULES["non-descriptive-id"].hint,
    )


def kept_open(reg: Registration) -> bool:
    """Whether the registration's producer stays open after it (it is kept, not closed)."""
    if reg.dest in ("closed", "with", "discarded"):
        return False
    return not (reg.dest == "local" and reg.closed)


def missing_cleanup(reg: Registration) -> Flag | None:
    """``missing-cleanup``: a producer dropped at once, or kept where nothing closes it."""
    message: str | None = None
    if reg.dest == "discarded":
        message = (
            f"the result of {reg.label}() is dropped at once: nothing can close() it, "
            "and its value stays in the store"
        )
    elif reg.dest in ("attr", "global") and reg.name:
        if not reg.closed and not reg.handed_on:
            where = f"self.{reg.name}" if reg.dest == "attr" else f"the global {reg.name}"
            message = (
                f"{where} keeps the producer from {reg.label}(), and nothing in this file "
                "ever closes it (close(), clear(), disconnect(), a with block, atexit)"
            )
    elif reg.dest == "local" and reg.name and not reg.closed and not reg.handed_on:
        message = (
            f"the producer {reg.name!r} from {reg.label}() is never closed nor handed "
            "on (returned, stored, passed): its value stays in the store"
        )
    if message is None:
        return None
    return Flag(reg.line, reg.offset, "missing-cleanup", message, RULES["missing-cleanup"].hint)


def registration_in_loop(reg: Registration) -> Flag | None:
    """A registration in a loop: ``registration-churn``, or ``duplicate-source``.

    ``duplicate-source`` when each iteration keeps another producer open on one fixed channel
    (a varying id, the result kept): the doctor's finding for the same code. Bridges are
    exempt: one bridge per job is the guide's own pattern.
    """
    if not reg.in_loop or reg.kind == "bridge":
        return None
    if reg.channel is not None and reg.producer_id is None and kept_open(reg):
        return Flag(
            reg.line,
            reg.offset,
            "duplicate-source",
            f"{reg.label}() in a loop keeps a producer per iteration open on "
            f"{reg.channel!r}: one source, many producers",
            RULES["duplicate-source"].hint,
        )
    return Flag(
        reg.line,
        reg.offset,
        "registration-churn",
        f"{reg.label}() inside a loop body: a producer per iteration",
        RULES["registration-churn"].hint,
    )


def unvalidated_publish(reg: Registration, defined: dict[str, str]) -> Flag | None:
    """``unvalidated-publish``: raw ``register_producer`` on a widget or schema channel."""
    if reg.kind != "raw" or reg.channel is None:
        return None
    if reg.channel in _WIDGET_VALUES:
        written = f"WidgetChannels.{_WIDGET_VALUES[reg.channel]}"
        what = "widget channel"
    elif reg.channel in defined:
        written = defined[reg.channel]
        what = "schema channel"
    else:
        return None
    pid = repr(reg.producer_id) if reg.producer_id is not None else "<the same id>"
    return Flag(
        reg.line,
        reg.offset,
        "unvalidated-publish",
        f"raw register_producer() on {what} {reg.channel!r} skips validation; "
        f"migrate: create_widget_publisher({written}, {pid}, store=...)",
        "the validated publisher refuses a bad payload where it is made (docs/guide.md: "
        "'Migrating from raw register_producer')",
    )


def _source_stem(producer_id: str | None) -> str:
    """The source an id names: without its last part or trailing number (``price-ticker``).

    ``price-ticker-a`` and ``price-ticker-b``, or ``feed1`` and ``feed2``, name one source;
    ``flaky-sensor`` and ``legacy-metrics-adapter`` name two.
    """
    text = (producer_id or "").strip().lower()
    stripped = _TRAILING_DIGITS.sub("", text)
    if stripped != text:
        return stripped.rstrip("-_.: ") or text
    return _LAST_PART.sub("", text) or text


def _exclusive(a: Registration, b: Registration) -> bool:
    """True when the two registrations sit in different branches of one ``if`` or ``match``."""
    branches = dict(a.branches)
    return any(key in branches and branches[key] != arm for key, arm in b.branches)


def duplicate_source(registrations: Sequence[Registration]) -> list[Flag]:
    """``duplicate-source``: two producers of one source on one channel, in one class or function.

    Same store, different literal ids that name one source (they differ only in their last
    part or trailing number); not two arms of one ``if``, nor a replacement of one attribute.
    """
    by_scope: dict[tuple[int, str, str], list[Registration]] = {}
    for r in registrations:
        if r.scope is None or r.kind == "bridge" or r.channel is None or r.producer_id is None:
            continue
        by_scope.setdefault((r.scope, r.channel, r.store), []).append(r)
    flags: list[Flag] = []
    for group in by_scope.values():
        for index, later in enumerate(group):
            for earlier in group[:index]:
                if (
                    earlier.producer_id == later.producer_id
                    or (
                        later.name is not None
                        and (earlier.dest, earlier.name) == (later.dest, later.name)
                    )
                    or _source_stem(earlier.producer_id) != _source_stem(later.producer_id)
                    or _exclusive(earlier, later)
                ):
                    continue
                where = (
                    f"class {later.owner}"
                    if later.owner is not None
                    else f"{later.function or 'this function'}()"
                )
                flags.append(
                    Flag(
                        later.line,
                        later.offset,
                        "duplicate-source",
                        f"a second producer of one source on {later.channel!r} in {where}: "
                        f"{later.producer_id!r} here and {earlier.producer_id!r} at line "
                        f"{earlier.line}",
                        RULES["duplicate-source"].hint,
                    )
                )
                break
    return flags


_PER_REGISTRATION: tuple[Callable[[Registration], Flag | None], ...] = (
    producer_in_widget,
    registration_in_frame,
    non_descriptive_id,
    missing_cleanup,
    registration_in_loop,
)


def file_rules(facts: FileFacts) -> list[Flag]:
    """Every rule over one file's facts (``producer-in-widget`` across files aside)."""
    flags: list[Flag] = []
    for reg in facts.registrations:
        for rule in _PER_REGISTRATION:
            flag = rule(reg)
            if flag is not None:
                flags.append(flag)
        flag = unvalidated_publish(reg, facts.defined)
        if flag is not None:
            flags.append(flag)
    flags.extend(duplicate_source(facts.registrations))
    return flags


def _reason(
    qualname: str, by_name: dict[str, ClassFact], memo: dict[str, WidgetReason | None]
) -> WidgetReason | None:
    """Why the class ``qualname`` is consumer-only through its bases' files, if it is.

    Depth first through the bases in order, the first reason found wins; a cycle of bases
    ends where it closes. The walk keeps its own stack: a chain of thousands of classes is
    followed without recursing.
    """
    if qualname in memo:
        return memo[qualname]
    memo[qualname] = None  # until found; a cycle of bases ends here
    stack = [(qualname, 0)]
    while stack:
        name, index = stack.pop()
        fact = by_name.get(name)
        if fact is None:
            continue
        if fact.why is not None:
            memo[name] = fact.why
            continue
        while index < len(fact.bases):
            base = fact.bases[index]
            if base not in memo:  # look at the base first, then come back here
                memo[base] = None
                stack += [(name, index), (base, 0)]
                break
            inherited = memo[base]
            if inherited is not None:
                module, _, short = base.rpartition(".")
                memo[name] = inherited.through(f"{short} ({module})")
                break
            index += 1
    return memo[qualname]


def producer_in_widget_across_files(
    facts: Iterable[ClassFact], pending: Iterable[PendingWidgetCheck]
) -> list[Finding]:
    """``producer-in-widget`` for registrations whose class is a widget through other files."""
    by_name = {fact.qualname: fact for fact in facts}
    memo: dict[str, WidgetReason | None] = {}
    findings: list[Finding] = []
    for item in pending:
        why = _reason(item.qualname, by_name, memo)
        if why is not None:
            findings.append(
                Finding(
                    item.path,
                    item.line,
                    item.column,
                    "producer-in-widget",
                    RULES["producer-in-widget"].severity,
                    f"{item.label}() in {item.owner}.{item.method}: {item.owner} is {why}, "
                    "and widgets consume only",
                    RULES["producer-in-widget"].hint,
                )
            )
    return findings
