"""The panel over a recording, as a person drives it: the timeline keys, the what-if, and
what every view shows at the cursor, compared with ``RecordingReader.state_at``."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from mapstore_core import RecordingReader, open_recording
from mapstore_core.recording import FORMAT_NAME
from mapstore_tui.replay_app import ReplayApp
from mapstore_tui.screens.overview import ProducersOverview
from mapstore_tui.view import LocalStoreView
from mapstore_tui.widgets.channel_list import ChannelList
from mapstore_tui.widgets.channel_preview import ChannelPreview
from mapstore_tui.widgets.doctor import DoctorTable
from mapstore_tui.widgets.events import EventLog
from mapstore_tui.widgets.header import PanelHeader
from mapstore_tui.widgets.history import HistoryPanel
from mapstore_tui.widgets.log_producers import LogProducersPanel
from mapstore_tui.widgets.previews import MetricWidget
from mapstore_tui.widgets.tables import ProducersTable
from mapstore_tui.widgets.timeline import TimelineBar
from tests.poll import apoll_until

from .helpers import SIZE, Toasts
from .recordings import MARKERS, write_session

SKIP = ("metric-data", "polling-service")


def replay(path: Path, **kwargs: object) -> ReplayApp:
    app = ReplayApp(path, refresh_interval=0.0, **kwargs)  # type: ignore[arg-type]
    app.animation_level = "none"
    return app


async def settle(pilot: Pilot[None]) -> None:
    """Let a jump's worker finish and its state reach every pane."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()


def bar(app: ReplayApp) -> str:
    return app.screen.query_one(TimelineBar).text


def assert_at(app: ReplayApp, reader: RecordingReader, number: int) -> None:
    """The bar says ``event number/M``, and the view answers what ``state_at`` answers."""
    assert f"event {number}/{len(reader)}" in bar(app)
    skip = app.replay.skipping
    expected = LocalStoreView(reader.state_at(number - 1, skip_producer=skip))
    view = app.view
    for channel in ("paragraph-content", "metric-data"):
        assert view.values(channel) == expected.values(channel)
        assert view.history(channel) == expected.history(channel)
    assert view.log_producers() == expected.log_producers()
    assert view.producers() == expected.producers()
    assert view.diagnostics() == expected.diagnostics()


async def select_metrics(pilot: Pilot[None]) -> None:
    pilot.app.query_one(ChannelList).select("metric-data")
    await pilot.pause()
    assert pilot.app.monitor.selected == "metric-data"


# -- where it opens ------------------------------------------------------------------------


async def test_it_opens_at_the_last_event_with_its_time_in_the_header(session: Path) -> None:
    reader = open_recording(session)
    app = replay(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert_at(app, reader, 15)
        assert "2023-11-14 22:13:23.250 UTC" in bar(app)
        assert "published metric-data realtime-service" in bar(app)
        assert app.query_one(PanelHeader).title == "MapStore · replay session.jsonl.gz"
        # the event log holds what led up to it, the last event last
        log = app.query_one(EventLog)
        kinds = [line.event.kind for line in log.lines_kept if line.event is not None]
        assert kinds[-4:] == ["validation_failed", "marker", "published", "published"]
        assert kinds.count("marker") == 2


async def test_it_can_open_at_a_given_event(session: Path) -> None:
    reader = open_recording(session)
    app = replay(session, at=4)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert_at(app, reader, 5)


# -- the timeline keys ---------------------------------------------------------------------


async def test_home_end_and_one_event_back_and_forward(session: Path) -> None:
    reader = open_recording(session)
    app = replay(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("home")
        await settle(pilot)
        assert_at(app, reader, 1)
        assert "registered paragraph-content static-page-content" in bar(app)
        for number in range(2, 7):  # ] folds the next event into the state held
            await pilot.press("right_square_bracket")
            await settle(pilot)
            assert_at(app, reader, number)
        log = app.query_one(EventLog)
        assert log.lines_kept[-1].event is not None
        assert log.lines_kept[-1].event.kind == "published"  # the step reached the log
        await pilot.press("left_square_bracket", "left_square_bracket")  # counted from the jump
        await settle(pilot)
        assert_at(app, reader, 4)
        await pilot.press("end")
        await settle(pilot)
        assert_at(app, reader, 15)
        await pilot.press("right_square_bracket")  # nothing after the last
        await settle(pilot)
        assert_at(app, reader, 15)
        await pilot.press("home", "left_square_bracket")  # nothing before the first
        await settle(pilot)
        assert_at(app, reader, 1)


async def test_m_goes_from_marker_to_marker(session: Path, monkeypatch) -> None:
    reader = open_recording(session)
    assert [label for label, _ in reader.markers()] == list(MARKERS)
    app = replay(session)
    async with app.run_test(size=SIZE) as pilot:
        toasts = Toasts()
        monkeypatch.setattr(app, "notify", toasts)
        await pilot.press("home")
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        assert_at(app, reader, 9)
        assert f"marker “{MARKERS[0]}”" in bar(app)
        await pilot.press("m")
        await settle(pilot)
        assert_at(app, reader, 13)
        assert f"marker “{MARKERS[1]}”" in bar(app)
        await pilot.press("m")
        await settle(pilot)
        assert_at(app, reader, 13)  # no marker after it: it stays, and says so
        assert toasts.titles() == ["Markers"]
        assert "No marker after event 13" in toasts.calls[0]["message"]


async def test_n_jumps_to_the_next_rejection_or_the_next_match_of_the_filter(
    session: Path, monkeypatch
) -> None:
    reader = open_recording(session)
    app = replay(session)
    async with app.run_test(size=SIZE) as pilot:
        toasts = Toasts()
        monkeypatch.setattr(app, "notify", toasts)
        await pilot.press("home")
        await settle(pilot)
        await pilot.press("n")  # no filter: the next rejection
        await settle(pilot)
        assert_at(app, reader, 12)
        assert "validation failed metric-data polling-service" in bar(app)
        await pilot.press("home")
        await settle(pilot)
        await pilot.press("slash", *"polling", "enter")  # the panel's own / filter
        await pilot.pause()
        assert isinstance(app.focused, DataTable)
        # polling-service registered, the marker "polling starts", its first publish, its
        # rejection, its second publish
        for number in (4, 9, 10, 12, 14):
            await pilot.press("n")
            await settle(pilot)
            assert_at(app, reader, number)
        await pilot.press("n")
        await settle(pilot)
        assert_at(app, reader, 14)
        assert toasts.calls[-1]["message"] == "no event after event 14 matches “polling”"


async def test_play_reaches_the_end_at_full_speed_and_at_ten_times(session: Path) -> None:
    reader = open_recording(session)
    app = replay(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "1x" in bar(app)
        await pilot.press("s", "s")
        assert app.speed is None and "max speed" in bar(app)
        await pilot.press("space")  # at the last event: plays from the first
        await settle(pilot)
        await apoll_until(
            lambda: not app.playing, what="the replay to stop at the end", pause=pilot.pause
        )
        assert_at(app, reader, 15)
        assert "⏸ REPLAY" in bar(app)
        await pilot.press("s")
        assert app.speed == 1.0
        await pilot.press("s")
        assert app.speed == 10.0 and "10x" in bar(app)
        await pilot.press("home")
        await settle(pilot)
        await pilot.press("space")
        # 3.25 s of recording at ten times: about a third of a second
        await apoll_until(lambda: not app.playing, what="the end at 10x", pause=pilot.pause)
        assert_at(app, reader, 15)


async def test_space_pauses_and_a_step_pauses_too(session: Path) -> None:
    reader = open_recording(session)
    app = replay(session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("home")
        await settle(pilot)
        await pilot.press("space")  # real time: a quarter second between events
        await pilot.pause()
        assert app.playing and "▶ PLAYING" in bar(app)
        await pilot.press("space")
        await pilot.pause()
        assert not app.playing
        number = app.replay.index + 1
        assert_at(app, reader, number)
        await pilot.press("space", "right_square_bracket")
        await settle(pilot)
        assert not app.playing
        assert_at(app, reader, app.replay.index + 1)


async def test_the_timeline_keys_work_whatever_has_the_focus(session: Path) -> None:
    reader = open_recording(session)
    app = replay(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("l", "tab", "tab", "tab")  # somewhere in the panes
        await pilot.pause()
        for focus in ("#log-producers-text", "#event-log", "#channels"):
            app.query_one(focus).focus()
            await pilot.pause()
            before = app.replay.index
            await pilot.press("left_square_bracket")
            await settle(pilot)
            assert app.replay.index == before - 1, focus
        await pilot.press("2")
        app.query_one("#producers-table").focus()  # a table of its own, with its own home
        await pilot.pause()
        assert app.focused is app.query_one("#producers-table")
        await pilot.press("home")
        await settle(pilot)
        assert_at(app, reader, 1)
        # over the producers overview, with the timeline on top of it
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, ProducersOverview)
        assert [row[0] for row in app.screen.rows] == ["paragraph-content"]  # at event 1
        await pilot.press("end")
        await settle(pilot)
        assert "event 15/15" in bar(app)
        assert len(app.screen.rows) == 3  # it read the producers again at the new event
        # a text field keeps its keys: m and [ are typed into the filter
        await pilot.press("slash", "m", "left_square_bracket")
        await pilot.pause()
        assert app.screen.query_one(Input).value == "m["
        assert "event 15/15" in bar(app)


# -- every view at the cursor --------------------------------------------------------------


async def test_every_pane_shows_the_state_at_the_cursor(session: Path) -> None:
    reader = open_recording(session)
    app = replay(session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("home")
        await settle(pilot)
        await pilot.press("m")  # polling starts: realtime has published three times
        await settle(pilot)
        state = reader.state_at(8)
        await select_metrics(pilot)
        preview = app.query_one(ChannelPreview).state
        assert preview.values == state.values("metric-data")
        assert len(app.query_one(ChannelPreview).query(MetricWidget)) == 1
        await pilot.press("2")
        await pilot.pause()
        table = app.query_one(ProducersTable)
        assert [r["id"] for r in table.records] == ["realtime-service", "polling-service"]
        assert [r["publish_count"] for r in table.records] == [3, 0]
        await pilot.press("4")
        await pilot.pause()
        assert len(app.query_one(HistoryPanel).query_one(DataTable).rows) == len(
            state.history("metric-data")
        )
        await pilot.press("l")
        await pilot.pause()
        assert app.query_one(LogProducersPanel).text == state.log_producers()
        await pilot.press("d")
        await pilot.pause()
        assert len(app.query_one(DoctorTable).findings) == len(state.diagnostics())
        await pilot.press("right_square_bracket")  # polling-service publishes
        await settle(pilot)
        await pilot.press("1")
        await pilot.pause()
        assert len(app.query_one(ChannelPreview).query(MetricWidget)) == 2
        assert app.query_one(ChannelPreview).state.values == reader.state_at(9).values(
            "metric-data"
        )


# -- the what-if ---------------------------------------------------------------------------


async def test_skip_a_producer_is_a_what_if_shown_as_one_and_undone_by_x(session: Path) -> None:
    reader = open_recording(session)
    app = replay(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await select_metrics(pilot)
        assert len(app.query_one(ChannelPreview).query(MetricWidget)) == 2
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("down", "enter")  # realtime-service, then polling-service
        await settle(pilot)
        assert app.replay.skipping == SKIP
        assert "WHAT-IF: as if polling-service had never published on metric-data" in bar(app)
        assert app.query_one(TimelineBar).has_class("-what-if")
        assert_at(app, reader, 15)  # state_at(14, skip_producer=SKIP)
        assert list(app.query_one(ChannelPreview).state.values) == ["realtime-service"]
        assert len(app.query_one(ChannelPreview).query(MetricWidget)) == 1
        # the what-if holds while moving: back, forward, home, and the log leaves it out
        await pilot.press("left_square_bracket", "left_square_bracket")
        await settle(pilot)
        assert_at(app, reader, 13)
        await pilot.press("right_square_bracket")  # 14: polling's publish, left out
        await settle(pilot)
        assert_at(app, reader, 14)
        assert "published metric-data polling-service (left out: what-if)" in bar(app)
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert_at(app, reader, 15)
        log = app.query_one(EventLog)
        told = [(line.event.kind, line.event.producer_id) for line in log.lines_kept if line.event]
        assert ("published", "polling-service") not in told
        assert ("validation_failed", "polling-service") in told  # that still happened
        await pilot.press("x")  # undo
        await settle(pilot)
        assert app.replay.skipping is None
        assert "WHAT-IF" not in bar(app)
        assert not app.query_one(TimelineBar).has_class("-what-if")
        assert_at(app, reader, 15)
        assert len(app.query_one(ChannelPreview).query(MetricWidget)) == 2


async def test_escape_in_the_what_if_dialog_changes_nothing(session: Path) -> None:
    app = replay(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await select_metrics(pilot)
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("escape")
        await settle(pilot)
        assert app.replay.skipping is None and "WHAT-IF" not in bar(app)


# -- read-only -----------------------------------------------------------------------------


async def test_a_replay_publishes_nothing_and_has_no_live_pause_nor_flight_recorder(
    session: Path, monkeypatch
) -> None:
    app = replay(session)
    async with app.run_test(size=SIZE) as pilot:
        toasts = Toasts()
        monkeypatch.setattr(app, "notify", toasts)
        await settle(pilot)
        await pilot.press("v")
        await pilot.pause()
        assert toasts.titles() == ["Dry run"]
        assert "A replay is read-only" in toasts.calls[0]["message"]
        assert app.screen is app.screen_stack[0]  # no dialog opened
        await pilot.press("p", "R")
        await pilot.pause()
        assert not app.monitor.paused
        assert app.flight is None
        keys = dict(app.key_help())
        assert "R" not in keys and "p" not in keys
        assert keys["space"] == "Play / Pause"
        assert keys["x"] == "What-if / Undo what-if"


# -- files that are not whole --------------------------------------------------------------


def _plain_copy(source: Path, target: Path) -> list[bytes]:
    target.write_bytes(gzip.decompress(source.read_bytes()))
    return target.read_bytes().splitlines(keepends=True)


async def test_a_damaged_recording_opens_and_says_what_was_skipped_and_cut(
    session: Path, tmp_path: Path, monkeypatch
) -> None:
    damaged = tmp_path / "crashed.jsonl"
    lines = _plain_copy(session, damaged)
    event_lines = [i for i, line in enumerate(lines) if line.startswith(b'{"kind"')]
    lines[event_lines[3]] = b'{"kind": "published", "chann\n'  # a corrupt line
    damaged.write_bytes(b"".join(lines) + b'{"kind":"publi')  # and cut by a crash
    with pytest.warns(Warning):  # opened elsewhere: it warns (the panel toasts instead)
        reader = open_recording(damaged)
    assert reader.skipped == 1 and reader.cut > 0
    app = replay(damaged)
    toasts = Toasts()
    monkeypatch.setattr(app, "notify", toasts)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert f"event {len(reader)}/{len(reader)}" in bar(app)
        assert toasts.titles() == ["Damaged recording"]
        message = toasts.calls[0]["message"]
        assert "1 corrupt line(s) skipped" in message
        assert f"the last {reader.cut:,} bytes were cut off" in message
        await pilot.press("home")
        await settle(pilot)
        assert_at(app, reader, 1)


async def test_a_recording_without_events_shows_the_store_as_it_started(tmp_path: Path) -> None:
    from mapstore_core import MapObjectStore, create_widget_publisher

    from ..conftest import FakeClock

    store = MapObjectStore(clock=FakeClock())
    create_widget_publisher("metric-data", "realtime-service", store=store).publish(
        {"label": "Users", "value": 3}
    )
    with store.record(tmp_path / "quiet.jsonl.gz"):
        pass
    app = replay(tmp_path / "quiet.jsonl.gz")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "event 0/0" in bar(app)
        assert app.view.log_producers() == store.log_producers()
        await pilot.press("home", "space", "right_square_bracket", "m", "n")
        await settle(pilot)
        assert "event 0/0" in bar(app) and not app.playing


# -- the command ---------------------------------------------------------------------------

EXE = Path(sys.executable).parent / "mapstore-tui"


def run_replay(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(EXE), "replay", str(path)], capture_output=True, text=True, timeout=60
    )


def test_replay_of_a_file_that_is_not_a_recording_is_one_line_and_exit_2(tmp_path: Path) -> None:
    text = tmp_path / "not-a-recording.txt"
    text.write_text("hello\n")
    newer = tmp_path / "future.jsonl"
    newer.write_text(json.dumps({"format": FORMAT_NAME, "version": 99}) + "\n")
    cases = {
        text: "is not a mapstore recording",
        newer: "is a version-99 recording",
        tmp_path / "missing.jsonl.gz": "cannot be read: No such file or directory",
    }
    for path, says in cases.items():
        done = run_replay(path)
        assert done.returncode == 2, done
        assert done.stdout == ""
        assert done.stderr.count("\n") == 1, done.stderr  # one line, no traceback
        assert done.stderr.startswith(f"mapstore-tui: {path}: "), done.stderr
        assert says in done.stderr


def test_the_fixture_session_is_deterministic(tmp_path: Path) -> None:
    one = open_recording(write_session(tmp_path / "one.jsonl"))
    two = open_recording(write_session(tmp_path / "two.jsonl"))
    assert list(one.events()) == list(two.events())


async def test_the_timeline_is_in_the_command_palette(session: Path) -> None:
    reader = open_recording(session)
    app = replay(session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("home")
        await settle(pilot)
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert {"Play", "Back", "Forward", "First", "Last", "Marker", "What-if"} <= set(titles)
        assert "Pause" not in titles and "Undo what-if" not in titles
        await pilot.press("ctrl+p")
        await pilot.press(*"marker")
        await pilot.pause(0.2)
        await pilot.press("enter")
        await settle(pilot)
        assert_at(app, reader, 9)
