"""mapstore_core must stay importable without the TUI stack (SPEC: pydantic only)."""

from __future__ import annotations

import json
import subprocess
import sys


def test_core_imports_no_ui_modules() -> None:
    code = (
        "import json, sys, mapstore_core, mapstore_core.testing; "
        "print(json.dumps(sorted(m for m in sys.modules "
        "if m.split('.')[0] in {'textual', 'rich', 'mapstore_tui'})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == []


def test_public_names_are_exported() -> None:
    import mapstore_core

    for name in mapstore_core.__all__:
        assert hasattr(mapstore_core, name), name
    for name in (
        "MapObjectStore",
        "map_store",
        "WidgetChannels",
        "ParagraphContent",
        "TableData",
        "MetricData",
        "define_channel",
        "create_widget_publisher",
        "create_widget_consumer",
        "JobManager",
        "create_job_widget_bridge",
        "ProducerAlreadyRegistered",
        "ProducerClosed",
        "PublishValidationError",
    ):
        assert name in mapstore_core.__all__
