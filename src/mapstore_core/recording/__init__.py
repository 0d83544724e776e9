"""Recordings: a store's events in a file, an always-on flight recorder, and reading them back.

``store.record(path)`` and ``store.flight_recorder()`` reach the store only through its
``TapPort``; ``record_endpoint(address, path)`` records an app in another process through
its debug endpoint (the mirror a ``DebugClient`` keeps); ``open_recording`` rebuilds any
point with the one fold every mirror uses. Public names are re-exported from
``mapstore_core``; ``MirrorSource``, ``record_endpoint`` and ``EndpointRecording`` are
imported from here.
"""

from mapstore_core._errors import RecordingError, RecordingWarning
from mapstore_core.recording._endpoint import EndpointRecording, record_endpoint
from mapstore_core.recording._flight import FlightRecorder
from mapstore_core.recording._format import CHECKPOINT_EVENTS, FORMAT_NAME, FORMAT_VERSION
from mapstore_core.recording._reader import RecordingReader, is_skipped, open_recording
from mapstore_core.recording._recording import Recording
from mapstore_core.recording._source import MirrorSource

__all__ = [
    "CHECKPOINT_EVENTS",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "EndpointRecording",
    "FlightRecorder",
    "MirrorSource",
    "Recording",
    "RecordingError",
    "RecordingReader",
    "RecordingWarning",
    "is_skipped",
    "open_recording",
    "record_endpoint",
]
