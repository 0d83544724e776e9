"""The "Log Producers" text, character for character as the guide prints it."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["NO_PRODUCERS", "format_log_producers"]

NO_PRODUCERS = "📤 No producers registered"


def format_log_producers(blocks: Sequence[tuple[str, Sequence[tuple[str, str]]]]) -> str:
    """Render ``[(channel, [(producer_id, kind), ...]), ...]``, already in display order."""
    if not blocks:
        return NO_PRODUCERS
    rendered = []
    for channel, producers in blocks:
        lines = [f"📤 Channel: {channel}", f"   Producers: {len(producers)}"]
        lines += [f"   {n}. {pid} ({kind})" for n, (pid, kind) in enumerate(producers, 1)]
        rendered.append("\n".join(lines))
    return "\n\n".join(rendered)
