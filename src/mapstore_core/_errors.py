"""The mapstore error family.

Every error names the culprit: the channel, the producer or consumer, and where it was
registered, so the message alone says what to fix::

    MapStoreError
    ├── ProducerAlreadyRegistered      same (channel, id) registered twice while open
    ├── ProducerClosed                 publish/clear on a closed producer
    ├── ConsumerClosed (ValueError)    subscribe on a closed consumer
    ├── ChannelNotDefined (LookupError)    a validated publisher/consumer on a raw channel
    ├── ChannelSchemaConflict (ValueError) define_channel() with a second, different model
    ├── PublishValidationError (ValueError) a payload that does not fit the channel's model
    ├── UnknownJob (LookupError)       a job id the JobManager never issued
    ├── JobStateError (ValueError)     a job update that its current state does not allow
    ├── EventFormatError (ValueError)  JSON that is not a store event or snapshot this reads
    ├── DebugProtocolError (ValueError)    a debug-endpoint message that breaks the protocol
    ├── DebugConnectionError (ConnectionError)  a debug endpoint that cannot be reached
    ├── DebugAuthError (PermissionError)   an endpoint that refused the handshake, or not yours
    ├── DebugRequestError (RuntimeError)   an endpoint that answered a request with an error
    ├── DebugAddressError (ValueError)     an address or endpoint name that names nothing usable
    ├── DebugEndpointError (OSError)       an endpoint that cannot be served at that place
    ├── LinkError (RuntimeError)       store.link() refused: no redis extra, bad URL or name
    ├── RecordingError (ValueError)    a recording that cannot be written, or read (not one,
    │                                  or of a newer format version)
    └── RecordingWarning (UserWarning) a recording read with lines left out (corrupt, or cut)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mapstore_core._fields import field_problems
from mapstore_core._public import public

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = [
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
]


@public
class MapStoreError(Exception):
    """Base class of every error mapstore raises on purpose.

    Every one pickles (to cross a process, say): it is rebuilt with its message and its
    attributes, without calling ``__init__``, whose arguments are the culprit's names.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


def _rebuild(cls: type[MapStoreError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    """Unpickle an error: ``BaseException.__new__`` sets ``args``; the attributes follow."""
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


@public
class ProducerAlreadyRegistered(MapStoreError):
    """A producer id is already open on the channel; close the first one or pick another id."""

    def __init__(self, channel: str, producer_id: str, first_registered_at: str) -> None:
        self.channel = channel
        self.producer_id = producer_id
        self.first_registered_at = first_registered_at
        super().__init__(
            f"producer {producer_id!r} is already registered on channel {channel!r} "
            f"(first registered at {first_registered_at}); close() it before registering "
            "it again, or give this data source its own descriptive id"
        )


@public
class ProducerClosed(MapStoreError):
    """The producer was closed; register a new one to publish again."""

    def __init__(self, channel: str, producer_id: str, registered_at: str, action: str) -> None:
        self.channel = channel
        self.producer_id = producer_id
        self.registered_at = registered_at
        super().__init__(
            f"cannot {action}: producer {producer_id!r} on channel {channel!r} "
            f"(registered at {registered_at}) is closed; register it again to publish"
        )


@public
class ConsumerClosed(MapStoreError, ValueError):
    """The consumer was closed; register a new one to receive updates again."""

    def __init__(self, channel: str, consumer_id: str, registered_at: str) -> None:
        self.channel = channel
        self.consumer_id = consumer_id
        super().__init__(
            f"cannot subscribe: consumer {consumer_id!r} on channel {channel!r} "
            f"(registered at {registered_at}) is closed"
        )


@public
class ChannelNotDefined(MapStoreError, LookupError):
    """A validated publisher or consumer was asked for on a channel that has no schema."""

    def __init__(self, channel: str, known: Sequence[str]) -> None:
        self.channel = channel
        self.known = tuple(known)
        listed = ", ".join(repr(name) for name in self.known) or "none"
        super().__init__(
            f"channel {channel!r} has no schema (channels with one: {listed}); "
            f"call define_channel({channel!r}, YourModel) first"
        )


@public
class ChannelSchemaConflict(MapStoreError, ValueError):
    """A channel can have one model only; redefining it with another is refused."""

    def __init__(self, channel: str, existing: str, new: str) -> None:
        self.channel = channel
        super().__init__(
            f"channel {channel!r} is already defined with model {existing}; "
            f"refusing to redefine it with {new}"
        )


@public
class PublishValidationError(MapStoreError, ValueError):
    """A payload failed the channel's model; the store kept its previous value.

    Attributes:
        channel: The channel the payload was meant for.
        producer_id: The producer that published it, or a consumer id when a widget consumer
            rejected a raw value.
        registered_at: Where that producer or consumer was registered.
        errors: pydantic's raw error list (``loc``, ``msg``, ``type`` ...).
        problems: ``{field path: message}``, one entry per failing field (union branches
            folded into their field).
        fields: The failing field paths, e.g. ``["rows", "change_type"]``.
    """

    def __init__(
        self,
        channel: str,
        producer_id: str,
        registered_at: str,
        model: type[BaseModel],
        errors: Sequence[Mapping[str, Any]],
        *,
        role: str = "producer",
    ) -> None:
        self.channel = channel
        self.producer_id = producer_id
        self.registered_at = registered_at
        self.model_name = model.__name__
        self.errors = list(errors)
        self.problems = field_problems(model, self.errors)
        self.fields = list(self.problems)
        lines = [f"  - {field}: {message}" for field, message in self.problems.items()]
        count = len(self.problems)
        super().__init__(
            f"invalid {self.model_name} payload on channel {channel!r} "
            f"from {role} {producer_id!r} "
            f"(registered at {registered_at}): {count} field{'s' if count != 1 else ''} "
            "failed; the previous value was kept\n" + "\n".join(lines)
        )


@public
class UnknownJob(MapStoreError, LookupError):
    """The JobManager has no job with this id."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(f"no job with id {job_id!r}; ids come from JobManager.create()")


@public
class JobStateError(MapStoreError, ValueError):
    """A job update that its state does not allow (finished jobs are final)."""


@public
class EventFormatError(MapStoreError, ValueError):
    """JSON received as a store event or snapshot that is not one (or of an unknown format).

    Everything that crosses a process boundary is checked before it is folded into a mirror:
    the message names the field that is wrong.
    """


@public
class DebugProtocolError(MapStoreError, ValueError):
    """A message that is not valid for the debug protocol (malformed, oversized, unexpected)."""


@public
class DebugConnectionError(MapStoreError, ConnectionError):
    """The debug endpoint cannot be reached (or the connection dropped)."""


@public
class DebugAuthError(MapStoreError, PermissionError):
    """The endpoint refused the handshake, or the client refused to trust the endpoint.

    The client refuses an endpoint run by another user (checked before the token is sent) and
    a token file that another user owns or that others can read.
    """


@public
class DebugRequestError(MapStoreError, RuntimeError):
    """The endpoint answered a request with an error."""


@public
class DebugAddressError(MapStoreError, ValueError):
    """An address or endpoint name that is malformed, out of range, or names no endpoint."""


@public
class DebugEndpointError(MapStoreError, OSError):
    """A debug endpoint cannot be served where asked.

    Its directory is not a private directory of this user, another user could change a
    directory or symlink on the way to it (the message names which), the path is taken by a
    live endpoint (the message names its process) or by something that is not a socket, or
    the name is not a plain file name. Nothing is deleted or replaced to make room.
    """


@public
class LinkError(MapStoreError, RuntimeError):
    """``store.link()`` cannot link this store (the extra, the URL, the names, a second link).

    Raised at once by ``link()`` only; once a link exists, Redis being away is never an
    error for the app: the link's ``status`` says ``disconnected`` and it retries.
    """


@public
class RecordingError(MapStoreError, ValueError):
    """A recording cannot be written or read: the message names the file and why.

    ``open_recording`` raises it for a file that is not a recording, or one of a newer
    format version (``version`` is then set); ``store.record`` for a file it cannot create.
    """

    def __init__(self, path: str, reason: str, *, version: object = None) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
        self.version = version


@public
class RecordingWarning(MapStoreError, UserWarning):
    """A recording was read with lines left out (corrupt, or cut by a crash).

    A warning (``warnings.warn``), never raised: ``open_recording`` reads what it can and
    says what it could not; ``RecordingReader.problems`` lists it.
    """
