"""The demo's job panel: each summarisation job with its progress, result or error."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message
from textual.reactive import reactive
from textual.widgets import DataTable

from mapstore_core import JobUpdate

__all__ = ["JobChanged", "JobsTable", "progress_bar"]


@dataclass
class JobChanged(Message):
    """A job moved (posted from the job's thread)."""


def progress_bar(progress: float, width: int = 20) -> str:
    """``██████░░░░ 60%``."""
    filled = round(progress * width)
    return "█" * filled + "░" * (width - filled) + f" {progress:4.0%}"


_STATUS = {
    "pending": "[dim]pending[/]",
    "running": "[cyan]running[/]",
    "completed": "[green]completed[/]",
    "failed": "[b red]failed[/]",
}


class JobsTable(DataTable[str]):
    """One row per job, newest first."""

    jobs: reactive[list[JobUpdate]] = reactive(list, always_update=True)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, id=id)

    def on_mount(self) -> None:
        self.add_columns("Job", "Bridge producer", "Status", "Progress", "Result / error")
        self.watch_jobs(self.jobs)

    def watch_jobs(self, jobs: list[JobUpdate]) -> None:
        if not self.columns:
            return
        self.clear()
        if not jobs:
            self.add_row("", "", "", "", "press j to submit an AI summarisation job")
            return
        for job in reversed(jobs):
            outcome = job.error or (str(job.result).splitlines()[0] if job.result else "")
            self.add_row(
                job.job_id,
                f"job-bridge:{job.job_id}",
                _STATUS[job.status],
                progress_bar(job.progress),
                outcome,
            )
