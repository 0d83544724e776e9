"""The job → widget bridge: a finished job's result becomes a validated widget payload."""

from __future__ import annotations

import threading
from collections.abc import Callable
from enum import Enum
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from mapstore_core._default import default_store
from mapstore_core._errors import PublishValidationError
from mapstore_core._handles import WidgetPublisher
from mapstore_core._jobs import JobManager, JobUpdate
from mapstore_core._names import channel_name
from mapstore_core._public import public
from mapstore_core._schemas import ParagraphContent

if TYPE_CHECKING:
    from mapstore_core._store import MapObjectStore

__all__ = ["JobWidgetBridge", "create_job_widget_bridge"]

Transform = Callable[[Any], Any]


def _default_transform(job_id: str) -> Transform:
    def transform(result: Any) -> Any:
        if isinstance(result, str):
            return ParagraphContent(title=f"Job {job_id}", content=result)
        return result

    return transform


@public
class JobWidgetBridge:
    """Owns the producer ``job-bridge:<job_id>`` and feeds it from one job.

    Create it with ``create_job_widget_bridge``. It publishes once, when the job completes;
    a failed job publishes nothing and shows up as a ``job-failed`` diagnostic until
    ``disconnect()``. A result that does not validate is reported as a ``validation_failed``
    event (the job's thread is not disturbed).
    """

    def __init__(
        self,
        job_id: str,
        producer: WidgetPublisher[Any],
        jobs: JobManager,
        store: MapObjectStore,
        transform: Transform,
    ) -> None:
        self.job_id = job_id
        self._producer = producer
        self._store = store
        self._transform = transform
        self._lock = threading.Lock()
        self._handled = False
        self._unsubscribe = jobs.subscribe(job_id, self._on_update)
        self._on_update(jobs.get(job_id))  # the job may have finished already

    @property
    def producer(self) -> WidgetPublisher[Any]:
        """The bridge's producer (kind ``bridge``)."""
        return self._producer

    @property
    def connected(self) -> bool:
        """False after ``disconnect()``."""
        return not self._producer.closed

    def _on_update(self, update: JobUpdate) -> None:
        if update.status not in ("completed", "failed"):
            return
        with self._lock:
            if self._handled or self._producer.closed:
                return
            self._handled = True
        if update.status == "failed":
            self._store._mark_job_failed(self._producer._state, update.error or "unknown error")
            return
        try:
            self._producer.publish(self._transform(update.result))
        except PublishValidationError:
            pass  # already reported as a validation_failed event naming this producer

    def disconnect(self) -> None:
        """Stop listening to the job and close the producer (clear + unregister). Idempotent."""
        self._unsubscribe()
        self._producer.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.disconnect()

    def __repr__(self) -> str:
        state = "connected" if self.connected else "disconnected"
        return f"<JobWidgetBridge {self.job_id!r} → {self._producer.channel!r} ({state})>"


def create_job_widget_bridge(
    job_id: str,
    channel: str | Enum,
    *,
    jobs: JobManager,
    store: MapObjectStore | None = None,
    transform: Transform | None = None,
) -> JobWidgetBridge:
    """Bridge one job to a widget channel: register, validate, publish, clean up.

    The producer ``job-bridge:<job_id>`` (kind ``bridge``) is registered now, at the calling
    line. On completion ``transform(result)`` is published — by default a ``str`` becomes
    ``ParagraphContent(title=f"Job {job_id}", content=result)`` and a dict or model is
    validated as is.

    Raises:
        UnknownJob: ``jobs`` has no such job.
        ChannelNotDefined: the channel has no model.
    """
    target = default_store(store)
    jobs.get(job_id)  # fail before registering anything
    producer: WidgetPublisher[Any] = target._register_producer(
        channel_name(channel),
        f"job-bridge:{job_id}",
        kind="bridge",
        validated=True,
        cls=WidgetPublisher,
    )
    try:
        return JobWidgetBridge(
            job_id, producer, jobs, target, transform or _default_transform(job_id)
        )
    except BaseException:
        producer.close()
        raise
