"""Pattern: AI-job results reach widgets through the job → widget bridge.

The job-completion handler (``submit``) creates one bridge per job; the bridge registers,
validates, publishes and — when the handler lets go of it — cleans up its producer itself.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

from mapstore_core import (
    JobManager,
    JobWidgetBridge,
    MapObjectStore,
    ParagraphContent,
    WidgetChannels,
    create_job_widget_bridge,
)

_SENTENCES = (
    "Revenue grew on the back of the new subscription tier.",
    "Churn fell for the third month in a row.",
    "Support tickets about onboarding halved after the redesign.",
    "The API latency regression was traced to a missing index.",
    "Two enterprise pilots converted to annual contracts.",
    "Mobile sessions now outnumber desktop ones.",
)
_FAILURES = ("model timed out", "rate limit exceeded", "input too long for the model")


@dataclass
class _Plan:
    steps: int
    fails: bool
    done: int = 0


class SummarizationJobs:
    """Submits simulated summarisation jobs and advances them step by step."""

    def __init__(
        self,
        store: MapObjectStore,
        jobs: JobManager,
        rng: random.Random,
        *,
        fail_rate: float = 0.25,
        keep: int = 3,
    ) -> None:
        self._store = store
        self.jobs = jobs
        self._rng = rng
        self._fail_rate = fail_rate
        self._keep = keep
        self._plans: dict[str, _Plan] = {}
        self.bridges: dict[str, JobWidgetBridge] = {}
        self._lock = threading.Lock()  # submit() comes from the UI, step() from a worker

    def submit(self, *, fail: bool | None = None) -> str:
        """Start a job and bridge its result to ``paragraph-content``; returns the job id."""
        with self._lock:
            job_id = self.jobs.create("summarize")
            fails = self._rng.random() < self._fail_rate if fail is None else fail
            self._plans[job_id] = _Plan(steps=self._rng.randint(4, 8), fails=fails)
            self.bridges[job_id] = create_job_widget_bridge(
                job_id,
                WidgetChannels.PARAGRAPH_CONTENT,
                jobs=self.jobs,
                store=self._store,
                transform=lambda text: ParagraphContent(
                    title=f"AI summary ({job_id})", content=text, markdown=True
                ),
            )
            self._forget_old()
        return job_id

    def step(self) -> None:
        """Advance every running job by one step; finish the ones that are done."""
        with self._lock:
            self._step_locked()

    def _step_locked(self) -> None:
        for job_id, plan in list(self._plans.items()):
            plan.done += 1
            if plan.done < plan.steps:
                self.jobs.update(job_id, status="running", progress=plan.done / plan.steps)
                continue
            del self._plans[job_id]
            if plan.fails:
                self.jobs.fail(job_id, error=self._rng.choice(_FAILURES))
            else:
                picked = self._rng.sample(_SENTENCES, 3)
                self.jobs.complete(job_id, result="\n".join(f"- {s}" for s in picked))

    @property
    def running(self) -> list[str]:
        """Ids of the jobs still in progress."""
        with self._lock:
            return list(self._plans)

    def _forget_old(self) -> None:
        while len(self.bridges) > self._keep:
            oldest = next(iter(self.bridges))
            if oldest in self._plans:
                break  # never drop a bridge whose job is still running
            self.bridges.pop(oldest).disconnect()

    def close(self) -> None:
        """Disconnect every bridge (each closes its producer)."""
        with self._lock:
            for bridge in self.bridges.values():
                bridge.disconnect()
            self.bridges.clear()
            self._plans.clear()
