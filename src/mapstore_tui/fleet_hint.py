"""What to say when a panel or a print reads a namespace where no process is live.

A mistyped or missing ``--namespace`` reads as an empty store, which looks like a broken
app. ``nobody_linked`` says so in one sentence, naming the namespaces at the same Redis that
do have live processes (a bounded ``SCAN``); the CLI prints it on stderr and the panel shows
it in a toast. It asks Redis, so call it off the UI thread.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mapstore_core.link import StoreLink

__all__ = ["nobody_linked"]

LISTED = 5
"""The most other namespaces named."""


def nobody_linked(link: StoreLink) -> str | None:
    """The sentence to show when ``link``'s namespace has no live process, else None."""
    processes = link.processes()
    if any(process.alive for process in processes):
        return None
    where = f"namespace {link.namespace!r} at {link.url_redacted}"
    gone = len(processes)
    if gone:
        had = "process has" if gone == 1 else "processes have"
        return f"{where} has no live process: its {gone} {had} gone"
    found = link.live_namespaces(limit=LISTED)
    if not found or not found[0]:
        return (
            f"{where} has no live process: nothing has linked to it; "
            "is it the namespace your apps give store.link()?"
        )
    names, more = found
    listed = ", ".join(names) + (", …" if more else "")
    label = "namespace" if len(names) == 1 and not more else "namespaces"
    return (
        f"{where} has no live process: nothing has linked to it; live processes are in "
        f"{label} {listed} (--namespace {shlex.quote(names[0])})"
    )
