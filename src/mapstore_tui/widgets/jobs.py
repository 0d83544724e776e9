"""The demo's job panel: each summarisation job with its progress, result or error."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.message import Message
from textual.reactive import reactive

from mapstore_core import JobUpdate
from mapstore_tui.widgets.fitted import Column, FittedTable

__all__ = ["JobChanged", "JobsTable", "progress_bar"]


@dataclass
class JobChanged(Message):
    """A job moved (posted from the job's thread)."""


def progress_bar(progress: float, width: int = 12) -> str:
    """``██████░░░░ 60%``."""
    filled = round(progress * width)
    return "█" * filled + "░" * (width - filled) + f" {progress:4.0%}"


_STATUS = {
    "pending": "[dim]pending[/]",
    "running": "[cyan]running[/]",
    "completed": "[green]completed[/]",
    "failed": "[b red]failed[/]",
}


class JobsTable(FittedTable):
    """One row per job, newest first; at 80 columns the result gives way first."""

    COLUMNS = (
        Column("Job", "id", floor=8, give=2),
        Column("Bridge producer", "id", floor=12, give=1),
        Column("Status", floor=9, give=4),
        Column("Progress", floor=17, give=3),
        Column("Result / error", floor=8, give=0),
    )

    jobs: reactive[list[JobUpdate]] = reactive(list, always_update=True)

    def watch_jobs(self, jobs: list[JobUpdate]) -> None:
        if not jobs:
            self.show([(None, ("", "", "", "", "press j to submit an AI summarisation job"))])
            return
        rows: list[tuple[str | None, tuple[Text | str, ...]]] = []
        for job in reversed(jobs):
            outcome = job.error or (str(job.result).splitlines()[0] if job.result else "")
            cells = (
                job.job_id,
                f"job-bridge:{job.job_id}",
                Text.from_markup(_STATUS[job.status]),
                progress_bar(job.progress),
                outcome,
            )
            rows.append((job.job_id, cells))
        self.show(rows)
