"""mapstore_core: a map object store that makes an app's data flow visible.

Producers register close to their data source under a descriptive id and publish; widgets
consume. Widget channels validate payloads with pydantic; a bridge turns job results into
widget payloads; the store describes itself (``log_producers``, ``snapshot``, events) and a
doctor flags breaches of the registration guide.
"""

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
    JobStateError,
    LinkError,
    MapStoreError,
    ProducerAlreadyRegistered,
    ProducerClosed,
    PublishValidationError,
    UnknownJob,
)
from mapstore_core._handles import Consumer, Producer, UpdateStream, WidgetConsumer, WidgetPublisher
from mapstore_core._ids import is_non_descriptive
from mapstore_core._jobs import JobManager, JobStatus, JobUpdate
from mapstore_core._reader import StoreReader
from mapstore_core._records import (
    ChannelInfo,
    ChannelUpdate,
    ConsumerInfo,
    Diagnostic,
    EventKind,
    ProducerInfo,
    ProducerKind,
    Rule,
    Severity,
    StoreEvent,
    UpdateKind,
)
from mapstore_core._schemas import MetricData, ParagraphContent, TableData, WidgetChannels
from mapstore_core._store import MapObjectStore
from mapstore_core._wake import Drained, WakeOnceBuffer
from mapstore_core._widgets import create_widget_consumer, create_widget_publisher, define_channel
from mapstore_core.remote import (
    DebugClient,
    DebugEndpoint,
    DebugServer,
    LinkStatus,
    ProcessInfo,
    StoreLink,
    list_debug_endpoints,
    schema_diff,
)

__version__ = "0.1.0"

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
    "Drained",
    "EventKind",
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
    "Rule",
    "Severity",
    "StoreEvent",
    "StoreLink",
    "StoreReader",
    "TableData",
    "UnknownJob",
    "UpdateKind",
    "UpdateStream",
    "WakeOnceBuffer",
    "WidgetChannels",
    "WidgetConsumer",
    "WidgetPublisher",
    "__version__",
    "consumer_only",
    "create_job_widget_bridge",
    "create_widget_consumer",
    "create_widget_publisher",
    "define_channel",
    "is_non_descriptive",
    "list_debug_endpoints",
    "map_store",
    "schema_diff",
]
