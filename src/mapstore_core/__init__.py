"""mapstore_core: a map object store that makes an app's data flow visible.

Producers register close to their data source under a descriptive id and publish; widgets
consume. Widget channels validate payloads with pydantic; a bridge turns job results into
widget payloads; the store describes itself (``log_producers``, ``snapshot``, events) and a
doctor flags breaches of the registration guide.

Every public name is importable from here, and loaded when first used: ``import
mapstore_core`` costs almost nothing, ``from mapstore_core import MapObjectStore`` loads the
store (and pydantic), and the debug endpoint and the Redis link (asyncio, ssl, sockets) load
only when one of their names is used. Public classes report ``mapstore_core`` as their module.
Plumbing shared with this distribution's transports and panels lives in
``mapstore_core.plumbing``; it is not part of the stable API.
"""

import sys as _sys
import typing as _typing
from importlib import import_module as _import_module

from mapstore_core import _public

if _typing.TYPE_CHECKING:
    from mapstore_core._bridge import JobWidgetBridge, create_job_widget_bridge
    from mapstore_core._callsite import consumer_only
    from mapstore_core._default import map_store
    from mapstore_core._errors import (
        ChannelNotDefined,
        ChannelSchemaConflict,
        ConsumerClosed,
        DebugAddressError,
        DebugAuthError,
        DebugConnectionError,
        DebugEndpointError,
        DebugProtocolError,
        DebugRequestError,
        EventFormatError,
        JobStateError,
        LinkError,
        MapStoreError,
        ProducerAlreadyRegistered,
        ProducerClosed,
        PublishValidationError,
        RecordingError,
        RecordingWarning,
        UnknownJob,
    )
    from mapstore_core._events import EventKind, StoreEvent
    from mapstore_core._handles import (
        Consumer,
        Producer,
        UpdateStream,
        WidgetConsumer,
        WidgetPublisher,
    )
    from mapstore_core._jobs import JobManager, JobStatus, JobUpdate
    from mapstore_core._mirror import StoreMirror
    from mapstore_core._records import (
        ChannelInfo,
        ChannelUpdate,
        ConsumerInfo,
        Diagnostic,
        ProcessInfo,
        ProducerInfo,
        ProducerKind,
        Rule,
        Severity,
        UpdateKind,
    )
    from mapstore_core._schemas import MetricData, ParagraphContent, TableData, WidgetChannels
    from mapstore_core._store import MapObjectStore
    from mapstore_core._widgets import (
        create_widget_consumer,
        create_widget_publisher,
        define_channel,
    )
    from mapstore_core.debug import DebugClient, DebugEndpoint, DebugServer, list_debug_endpoints
    from mapstore_core.link import LinkStatus, StoreLink
    from mapstore_core.recording import (
        FlightRecorder,
        Recording,
        RecordingReader,
        open_recording,
    )

from mapstore_core._version import __version__

_SOURCES: dict[str, tuple[str, ...]] = {
    "mapstore_core._bridge": ("JobWidgetBridge", "create_job_widget_bridge"),
    "mapstore_core._callsite": ("consumer_only",),
    "mapstore_core._default": ("map_store",),
    "mapstore_core._errors": (
        "ChannelNotDefined",
        "ChannelSchemaConflict",
        "ConsumerClosed",
        "DebugAddressError",
        "DebugAuthError",
        "DebugConnectionError",
        "DebugEndpointError",
        "DebugProtocolError",
        "DebugRequestError",
        "EventFormatError",
        "JobStateError",
        "LinkError",
        "MapStoreError",
        "ProducerAlreadyRegistered",
        "ProducerClosed",
        "PublishValidationError",
        "RecordingError",
        "RecordingWarning",
        "UnknownJob",
    ),
    "mapstore_core._handles": (
        "Consumer",
        "Producer",
        "UpdateStream",
        "WidgetConsumer",
        "WidgetPublisher",
    ),
    "mapstore_core._jobs": ("JobManager", "JobStatus", "JobUpdate"),
    "mapstore_core._events": ("EventKind", "StoreEvent"),
    "mapstore_core._mirror": ("StoreMirror",),
    "mapstore_core._records": (
        "ChannelInfo",
        "ChannelUpdate",
        "ConsumerInfo",
        "Diagnostic",
        "ProcessInfo",
        "ProducerInfo",
        "ProducerKind",
        "Rule",
        "Severity",
        "UpdateKind",
    ),
    "mapstore_core._schemas": ("MetricData", "ParagraphContent", "TableData", "WidgetChannels"),
    "mapstore_core._store": ("MapObjectStore",),
    "mapstore_core._widgets": (
        "create_widget_consumer",
        "create_widget_publisher",
        "define_channel",
    ),
    # The debug endpoint and the Redis link: asyncio, ssl and sockets load with them.
    "mapstore_core.debug": ("DebugClient", "DebugEndpoint", "DebugServer", "list_debug_endpoints"),
    "mapstore_core.link": ("LinkStatus", "StoreLink"),
    "mapstore_core.recording": (
        "FlightRecorder",
        "Recording",
        "RecordingReader",
        "open_recording",
    ),
}
"""Where each public name is defined: the module loaded the first time the name is used."""

_HOME = {name: module for module, names in _SOURCES.items() for name in names}

__all__ = [
    "ChannelInfo",
    "ChannelNotDefined",
    "ChannelSchemaConflict",
    "ChannelUpdate",
    "Consumer",
    "ConsumerClosed",
    "ConsumerInfo",
    "DebugAddressError",
    "DebugAuthError",
    "DebugClient",
    "DebugConnectionError",
    "DebugEndpoint",
    "DebugEndpointError",
    "DebugProtocolError",
    "DebugRequestError",
    "DebugServer",
    "Diagnostic",
    "EventFormatError",
    "EventKind",
    "FlightRecorder",
    "JobManager",
    "JobStateError",
    "JobStatus",
    "JobUpdate",
    "JobWidgetBridge",
    "LinkError",
    "LinkStatus",
    "MapObjectStore",
    "MapStoreError",
    "MetricData",
    "ParagraphContent",
    "ProcessInfo",
    "Producer",
    "ProducerAlreadyRegistered",
    "ProducerClosed",
    "ProducerInfo",
    "ProducerKind",
    "PublishValidationError",
    "Recording",
    "RecordingError",
    "RecordingReader",
    "RecordingWarning",
    "Rule",
    "Severity",
    "StoreEvent",
    "StoreLink",
    "StoreMirror",
    "TableData",
    "UnknownJob",
    "UpdateKind",
    "UpdateStream",
    "WidgetChannels",
    "WidgetConsumer",
    "WidgetPublisher",
    "__version__",
    "consumer_only",
    "create_job_widget_bridge",
    "create_widget_consumer",
    "create_widget_publisher",
    "define_channel",
    "list_debug_endpoints",
    "map_store",
    "open_recording",
]

_unadopted = set(_SOURCES)
"""Modules whose public classes do not report ``mapstore_core`` as their module yet."""


_adopt = _public.adopt


def _adopt_loaded() -> None:
    """Adopt the public classes of every defining module that has loaded so far."""
    for module_name in [m for m in tuple(_unadopted) if m in _sys.modules]:
        module = _sys.modules[module_name]
        names = _SOURCES[module_name]
        if not all(hasattr(module, name) for name in names):
            continue  # still loading: adopted on a later call
        _unadopted.discard(module_name)
        for name in names:
            value = getattr(module, name)
            if isinstance(value, type) and value.__module__.startswith(__name__ + "."):
                _adopt(value)


if not _typing.TYPE_CHECKING:

    def __getattr__(name: str) -> object:
        """Load a public name's module on first use (PEP 562); the name is then cached here."""
        module_name = _HOME.get(name)
        if module_name is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(_import_module(module_name), name)
        _adopt_loaded()
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    """The public names (loaded or not) and whatever this module already holds."""
    return sorted({*globals(), *__all__})
