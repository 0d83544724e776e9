"""The rule catalogue: each static rule, its severity, what it catches and the guide's reason.

Names match the runtime doctor's (``mapstore_core._doctor``) where they mean the same thing;
``missing-cleanup`` is the static side of the doctor's ``leaked-producer``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["PARSE_ERROR", "READ_ERROR", "RULES", "LintRule", "LintSeverity"]

LintSeverity = Literal["error", "warning"]

PARSE_ERROR = "parse-error"
"""Not a rule: a file Python cannot parse, or nested too deeply to check. Always reported;
exit status 2."""
READ_ERROR = "read-error"
"""Not a rule: a path that is not read: it does not exist, is not a regular file (a FIFO, a
device, a socket), is larger than ``MAX_SOURCE_BYTES``, or reading it failed. Always
reported; exit status 2."""


@dataclass(frozen=True, slots=True)
class LintRule:
    """One static rule: its name, severity, what it catches, why the guide cares, the fix."""

    name: str
    severity: LintSeverity
    catches: str
    reason: str
    hint: str
    runtime: str | None
    """The doctor rule that finds the same problem while the app runs, if any."""


RULES: dict[str, LintRule] = {
    rule.name: rule
    for rule in (
        LintRule(
            "producer-in-widget",
            "error",
            "create_widget_publisher / register_producer / create_job_widget_bridge called in "
            "a method of a class marked @consumer_only (or a subclass of one), or of a Textual "
            "Widget subclass",
            "widgets consume only; a widget that produces hides where its data comes from",
            "register the producer in the data source (service, form, job handler); "
            "let the widget only consume",
            "producer-in-widget",
        ),
        LintRule(
            "registration-churn",
            "warning",
            "a registration inside render(), compose(), a watch_* method, or a loop body",
            "a producer per frame or per iteration floods the store's bookkeeping and hides "
            "the real source",
            "register once, early, close to the data source, and keep the producer",
            "registration-churn",
        ),
        LintRule(
            "missing-cleanup",
            "error",
            "a producer kept on self (or in a module global) that nothing in the file ever "
            "close()s, clear()s or disconnect()s; a producer bound to a local name and never "
            "closed nor handed on; a producer dropped at once",
            "a producer that is never closed keeps its last value in the store after its "
            "owner is gone: widgets show stale data",
            "call close() when the owner goes away, or use the producer as a context manager",
            "leaked-producer",
        ),
        LintRule(
            "non-descriptive-id",
            "warning",
            "a literal producer id the runtime rule would flag (producer1, temp, a UUID, "
            "machine-looking hex)",
            "the Log Producers text and the doctor name producers by id; a generic id does "
            "not say which data source wrote a value",
            "name the source, e.g. 'market-data-service' or 'user-input-form'",
            "non-descriptive-id",
        ),
        LintRule(
            "duplicate-source",
            "warning",
            "two producers (different literal ids) for one channel registered in the same "
            "function or class, or one registration in a loop that keeps a producer per "
            "iteration open on one channel",
            "one producer per data source: several producers of one source on one channel "
            "compete for the channel's value",
            "keep one producer per data source and publish every update through it",
            "duplicate-source",
        ),
        LintRule(
            "unvalidated-publish",
            "warning",
            "raw register_producer on a widget channel (a WidgetChannels member or its string "
            "value, or a channel given a model by define_channel in the same file)",
            "raw producers are not validated: a bad payload reaches the widget instead of "
            "being refused where it was made",
            "use create_widget_publisher (docs/guide.md: 'Migrating from raw register_producer')",
            "unvalidated-publish",
        ),
    )
}
"""Every rule, by name, in the order docs/lint.md lists them."""
