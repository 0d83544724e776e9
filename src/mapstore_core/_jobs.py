"""An in-process job registry: background work reports progress, a result or an error."""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

from mapstore_core._errors import JobStateError, UnknownJob
from mapstore_core._public import public

__all__ = ["JobManager", "JobStatus", "JobUpdate"]

logger = logging.getLogger("mapstore_core")

JobStatus = Literal["pending", "running", "completed", "failed"]
_STATUSES: frozenset[str] = frozenset(("pending", "running", "completed", "failed"))
_FINAL: frozenset[str] = frozenset(("completed", "failed"))

JobListener = Callable[["JobUpdate"], object]


@public
@dataclass(frozen=True, slots=True)
class JobUpdate:
    """The state of a job after a change."""

    job_id: str
    """The id ``JobManager.create`` returned."""
    status: JobStatus
    """``pending`` → ``running`` → ``completed`` or ``failed``; the last two are final."""
    progress: float
    """From 0.0 to 1.0."""
    result: Any = None
    """The job's result once ``completed``."""
    error: str | None = None
    """Why it failed, once ``failed``."""
    name: str = ""
    """The name given to ``create``."""


@public
class JobManager:
    """A thread-safe registry of jobs and their listeners.

    Ids are ``<name>-<n>``, unique per manager. Listeners run synchronously in the thread
    that updates the job; one that raises is logged on the ``mapstore_core`` logger and does
    not stop the others or the update.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, JobUpdate] = {}
        self._listeners: dict[str, tuple[JobListener, ...]] = {}
        self._counter = itertools.count(1)

    def create(self, name: str) -> str:
        """Register a ``pending`` job and return its id."""
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"a job name must be a non-empty string, not {name!r}")
        with self._lock:
            job_id = f"{name}-{next(self._counter)}"
            self._jobs[job_id] = JobUpdate(job_id, "pending", 0.0, name=name)
        return job_id

    def get(self, job_id: str) -> JobUpdate:
        """The job's current state.

        Raises:
            UnknownJob: no such job.
        """
        with self._lock:
            try:
                return self._jobs[job_id]
            except KeyError:
                raise UnknownJob(job_id) from None

    def jobs(self) -> list[JobUpdate]:
        """Every job, oldest first."""
        with self._lock:
            return list(self._jobs.values())

    def update(
        self,
        job_id: str,
        *,
        status: JobStatus | None = None,
        progress: float | None = None,
    ) -> JobUpdate:
        """Change a running job's status and/or progress; use ``complete``/``fail`` to finish.

        Raises:
            UnknownJob: no such job.
            JobStateError: the job is finished, or the status or progress is invalid.
        """
        if status is not None and status not in _STATUSES - _FINAL:
            raise JobStateError(
                f"update() sets 'pending' or 'running', not {status!r}; "
                "finish a job with complete() or fail()"
            )
        if progress is not None and not 0.0 <= progress <= 1.0:
            raise JobStateError(f"progress must be between 0.0 and 1.0, not {progress!r}")
        return self._change(job_id, status=status, progress=progress)

    def complete(self, job_id: str, *, result: Any = None) -> JobUpdate:
        """Finish the job successfully with ``result`` (progress becomes 1.0)."""
        return self._change(job_id, status="completed", progress=1.0, result=result)

    def fail(self, job_id: str, *, error: str) -> JobUpdate:
        """Finish the job as failed, saying why."""
        return self._change(job_id, status="failed", error=str(error))

    def subscribe(self, job_id: str, fn: JobListener) -> Callable[[], None]:
        """Call ``fn(JobUpdate)`` on every later change of the job; returns the unsubscriber.

        Raises:
            UnknownJob: no such job.
        """
        with self._lock:
            if job_id not in self._jobs:
                raise UnknownJob(job_id)
            self._listeners[job_id] = (*self._listeners.get(job_id, ()), fn)

        def unsubscribe() -> None:
            with self._lock:
                listeners = list(self._listeners.get(job_id, ()))
                if fn in listeners:
                    listeners.remove(fn)
                    self._listeners[job_id] = tuple(listeners)

        return unsubscribe

    def _change(self, job_id: str, **changes: Any) -> JobUpdate:
        with self._lock:
            current = self._jobs.get(job_id)
            if current is None:
                raise UnknownJob(job_id)
            if current.status in _FINAL:
                raise JobStateError(f"job {job_id!r} is already {current.status}; it is final")
            fields = {key: value for key, value in changes.items() if value is not None}
            updated = self._jobs[job_id] = replace(current, **fields)
            listeners = self._listeners.get(job_id, ())
            if updated.status in _FINAL:
                self._listeners.pop(job_id, None)
        for fn in listeners:
            try:
                fn(updated)
            except Exception:
                logger.exception("listener %r of job %r failed", fn, job_id)
        return updated
