"""Copy the snapshot tests' SVGs into screenshots/ under readable names.

The screenshots are the very images the snapshot suite checks, so they cannot drift from
what the panel draws: update the snapshots (``pytest tests/tui/test_snapshots.py
--snapshot-update``), then run this script. ``tests/tui/test_screenshots.py`` fails when the
two differ.
"""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOTS = ROOT / "tests" / "tui" / "__snapshots__" / "test_snapshots"
SCREENSHOTS = ROOT / "screenshots"

NAMES = {
    "test_monitor.svg": "monitor.svg",
    "test_monitor_small.svg": "monitor-80x24.svg",
    "test_producers_overview.svg": "producers-overview.svg",
    "test_metric_preview.svg": "metric-preview.svg",
    "test_log_producers.svg": "log-producers.svg",
    "test_doctor_with_antipatterns.svg": "doctor-antipatterns.svg",
    "test_producers_with_doctor_flags.svg": "producers-doctor-flags.svg",
    "test_form_with_inline_errors.svg": "form-inline-errors.svg",
    "test_job_progress.svg": "job-progress.svg",
    "test_history_diff.svg": "history-diff.svg",
    "test_data_flow.svg": "data-flow.svg",
    "test_help.svg": "help.svg",
    "test_replay.svg": "replay.svg",
    "test_replay_what_if.svg": "replay-what-if.svg",
    "test_schema.svg": "schema.svg",
    # the fleet panel's, from tests/fleet (relative to SNAPSHOTS)
    "../../../fleet/__snapshots__/test_fleet_panel/test_snapshot_processes.svg": "processes.svg",
    "../../../fleet/__snapshots__/test_fleet_panel/test_snapshot_fleet_overview.svg": (
        "fleet-overview.svg"
    ),
    "../../../fleet/__snapshots__/test_fleet_panel/test_snapshot_fleet_doctor.svg": (
        "fleet-doctor.svg"
    ),
}


def main() -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    for snapshot, name in NAMES.items():
        shutil.copyfile(SNAPSHOTS / snapshot, SCREENSHOTS / name)
        print(f"screenshots/{name}")


if __name__ == "__main__":
    main()
