"""What the panel draws, as SVG snapshots. Each docstring says what a person should see.

The demo is seeded, its clock is frozen, nothing runs on threads and animations are off, so
every run draws the same screen. Update with ``pytest --snapshot-update`` and look at the
diff before committing.
"""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import DataTable, Input, TabbedContent, TextArea

from mapstore_tui.replay_app import ReplayApp
from mapstore_tui.widgets.channel_list import ChannelList

from ..conftest import FakeClock
from .helpers import SIZE, SMALL, make_demo


async def _live_for_a_while(pilot: Pilot[None], seconds: int = 6) -> None:
    """Step the sources as if a few seconds had passed, sampling rates each second."""
    app = pilot.app
    clock = app.clock
    assert isinstance(clock, FakeClock)
    for second in range(seconds):
        for _ in range(4):
            app.sources.tick_realtime()
        if second % 3 == 0:
            app.sources.tick_polling()
        clock.advance(1.0)
        app.monitor.sample_rates()
        await pilot.pause()


def test_monitor(snap_compare) -> None:
    """The main view at 140x45: the channel list only as wide as its content (counts, rates,
    trends, ages); the Welcome paragraph in the preview; registrations and publishes in the
    event log, the payload column straight; every key in the footer."""

    async def run_before(pilot: Pilot[None]) -> None:
        await _live_for_a_while(pilot)

    assert snap_compare(make_demo(), terminal_size=SIZE, run_before=run_before)


def test_monitor_small(snap_compare) -> None:
    """The main view at 80x24: the header still says `MapStore · demo` and the totals, the
    channel list keeps name, messages, rate and age, all five detail tabs are on screen
    (short labels), and the footer shows the keys that fit, `? Help` and `q Quit` included."""

    async def run_before(pilot: Pilot[None]) -> None:
        await _live_for_a_while(pilot, 3)

    assert snap_compare(make_demo(), terminal_size=SMALL, run_before=run_before)


def test_producers_overview(snap_compare) -> None:
    """`o` in antipattern mode: every producer of the store in one full-width table —
    channel, id, kind, where registered (`…/demo/antipatterns.py:50`), messages, rate, last
    publish, state and the doctor's flags, all columns on screen."""

    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.press("o")
        await pilot.pause()
        pilot.app.clear_notifications()  # the antipatterns' rejections: not what this shows

    assert snap_compare(make_demo(antipatterns=True), terminal_size=SIZE, run_before=run_before)


def test_producers_overview_small(snap_compare) -> None:
    """`o` at 80x24 in antipattern mode: channel, producer (cut in the middle, so
    price-ticker-a and -b stay apart), where, state (`leaked raw`) and the doctor's flags
    whole (`unvalidated-publish`); kind, rate, last and messages left out for them."""

    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.press("o")
        await pilot.pause()
        pilot.app.clear_notifications()

    assert snap_compare(make_demo(antipatterns=True), terminal_size=SMALL, run_before=run_before)


async def _metric_data_live(pilot: Pilot[None]) -> None:
    await pilot.press("down", "down")
    await _live_for_a_while(pilot)


def test_metric_preview(snap_compare) -> None:
    """metric-data selected: one card per producer — live users and polled latency, each
    with its big value, coloured change arrow and a sparkline of its own values only."""
    assert snap_compare(make_demo(), terminal_size=SIZE, run_before=_metric_data_live)


def test_metric_preview_small(snap_compare) -> None:
    """The same at 80x24: the first card whole (value, arrow, sparkline), the second below
    it (the preview scrolls); the header's totals in short words."""
    assert snap_compare(make_demo(), terminal_size=SMALL, run_before=_metric_data_live)


def test_log_producers(snap_compare) -> None:
    """`l`: the Log Producers text, exactly as the store prints it, in the bottom panel."""
    assert snap_compare(make_demo(), press=["l"], terminal_size=SIZE)


def test_log_producers_small(snap_compare) -> None:
    """`l` at 80x24: the Log Producers text takes most of the height; long lines wrap."""
    assert snap_compare(make_demo(), press=["l"], terminal_size=SMALL)


def test_doctor_with_antipatterns(snap_compare) -> None:
    """`d` in antipattern mode: one finding per broken rule, every column on screen —
    severity, rule, producer, channel, the fix (ending in `…` when long) and where."""

    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.press("d")
        await pilot.pause()
        pilot.app.clear_notifications()

    assert snap_compare(make_demo(antipatterns=True), terminal_size=SIZE, run_before=run_before)


def test_doctor_small(snap_compare) -> None:
    """`d` at 80x24 in antipattern mode: the findings, and the selected one written out."""

    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.press("d")
        await pilot.pause()
        pilot.app.clear_notifications()

    assert snap_compare(make_demo(antipatterns=True), terminal_size=SMALL, run_before=run_before)


def test_producers_with_doctor_flags(snap_compare) -> None:
    """`2` on price-ticks: every column of the Producers tab on screen; both producers
    registered on one line (`…/demo/antipatterns.py:50`), both flagged duplicate-source."""

    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.press("2")
        pilot.app.monitor.query_one("ChannelList").select("price-ticks")
        await pilot.pause()
        pilot.app.clear_notifications()

    assert snap_compare(make_demo(antipatterns=True), terminal_size=SIZE, run_before=run_before)


def test_producers_small(snap_compare) -> None:
    """`2` on price-ticks at 80x24: the least important columns (rate, kind, last, msgs,
    then the doctor's flags, which the Doctor tab says) left out, so producer, where and
    state are whole, without scrolling."""

    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.press("2")
        pilot.app.monitor.query_one("ChannelList").select("price-ticks")
        await pilot.pause()
        pilot.app.clear_notifications()

    assert snap_compare(make_demo(antipatterns=True), terminal_size=SMALL, run_before=run_before)


async def _consumers_of_metric_data(pilot: Pilot[None]) -> None:
    await pilot.pause()
    pilot.app.query_one(ChannelList).select("metric-data")
    await pilot.press("3")
    await pilot.pause()
    pilot.app.clear_notifications()


def test_consumers(snap_compare) -> None:
    """`3` on metric-data in antipattern mode: its two consumers, each with where it was
    registered, updates delivered, errors, callbacks and model; every column whole."""
    assert snap_compare(
        make_demo(antipatterns=True), terminal_size=SIZE, run_before=_consumers_of_metric_data
    )


def test_consumers_small(snap_compare) -> None:
    """The same at 80x24: consumer, where and errors whole; callbacks, model and delivered
    left out. The event log's payloads end in `…` at the edge, with no sideways scroll."""
    assert snap_compare(
        make_demo(antipatterns=True), terminal_size=SMALL, run_before=_consumers_of_metric_data
    )


async def _empty_form_published(pilot: Pilot[None]) -> None:
    await pilot.press("i")
    await pilot.pause()
    pilot.app.screen.query_one(Input).cursor_blink = False
    pilot.app.screen.query_one(TextArea).cursor_blink = False
    await pilot.press("ctrl+s")  # Publish, by key: a click would leave a hover effect
    await pilot.pause()


def test_form_with_inline_errors(snap_compare) -> None:
    """`i` then Publish (ctrl+s) with nothing typed: the form stays open and says what is
    missing under each field."""

    assert snap_compare(make_demo(), terminal_size=SIZE, run_before=_empty_form_published)


def test_form_small(snap_compare) -> None:
    """The form at 80x24 after an empty Publish: every field, its error and the buttons
    reachable (the form scrolls)."""

    assert snap_compare(make_demo(), terminal_size=SMALL, run_before=_empty_form_published)


async def _a_job_running(pilot: Pilot[None]) -> None:
    await pilot.press("j")
    await pilot.pause()
    for _ in range(2):
        pilot.app.sources.tick_jobs()
    await pilot.pause()


def test_job_progress(snap_compare) -> None:
    """`j`: the Jobs tab with the new job running (a progress bar) and its bridge producer
    named; a toast confirms the submission."""

    assert snap_compare(make_demo(), terminal_size=SIZE, run_before=_a_job_running)


def test_job_progress_small(snap_compare) -> None:
    """`j` at 80x24, the toast gone: the job, its bridge producer, status and progress."""

    async def run_before(pilot: Pilot[None]) -> None:
        await _a_job_running(pilot)
        pilot.app.clear_notifications()

    assert snap_compare(make_demo(), terminal_size=SMALL, run_before=run_before)


async def _two_updates_marked(pilot: Pilot[None]) -> None:
    await pilot.press("down", "down")
    pilot.app.sources.tick_realtime()
    pilot.app.sources.tick_realtime()
    await pilot.pause()
    pilot.app.query_one("#detail", TabbedContent).active = "history"
    await pilot.pause()
    table = pilot.app.query_one("#history-panel").query_one(DataTable)
    table.focus()
    await pilot.press("enter", "down", "enter")
    await pilot.pause()


def test_history_diff(snap_compare) -> None:
    """History of metric-data with two updates marked (●) and their difference below."""
    assert snap_compare(make_demo(), terminal_size=SIZE, run_before=_two_updates_marked)


def test_history_diff_small(snap_compare) -> None:
    """The same at 80x24: the time left out so that the kind stays whole and the value has
    room; the producer cut in the middle; the difference below."""
    assert snap_compare(make_demo(), terminal_size=SMALL, run_before=_two_updates_marked)


def test_schema(snap_compare) -> None:
    """`5` on metric-data: the model's fields in a table whose Description takes the room
    (the union of literals wraps in a narrow Type column); ``code`` in the docstrings is
    drawn bold cyan, without backticks."""

    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.pause()
        pilot.app.query_one(ChannelList).select("metric-data")
        await pilot.press("5")
        await pilot.pause()

    assert snap_compare(make_demo(), terminal_size=SIZE, run_before=run_before)


def test_schema_small(snap_compare) -> None:
    """The same at 80x24: too narrow for a table, each field is one line (name, type,
    required or its default) with its description under it, and the pane scrolls."""

    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.pause()
        pilot.app.query_one(ChannelList).select("metric-data")
        await pilot.press("5")
        await pilot.pause()

    assert snap_compare(make_demo(), terminal_size=SMALL, run_before=run_before)


def test_data_flow(snap_compare) -> None:
    """`f`: sources → channels → consumers, with where each was registered."""
    assert snap_compare(make_demo(), press=["f"], terminal_size=SIZE)


def test_data_flow_small(snap_compare) -> None:
    """`f` at 80x24: the same tree, scrolling; names and places cut with `…`, never wrapped."""
    assert snap_compare(make_demo(), press=["f"], terminal_size=SMALL)


def test_help(snap_compare) -> None:
    """`?`: every key and what each panel shows."""
    assert snap_compare(make_demo(), press=["question_mark"], terminal_size=SIZE)


def test_help_small(snap_compare) -> None:
    """`?` at 80x24: the keys first, the text wrapped to the width; it scrolls."""
    assert snap_compare(make_demo(), press=["question_mark"], terminal_size=SMALL)


# -- the replay (``mapstore-tui replay FILE``) of the session in ``recordings.py`` ----------


def _replay(session: Path) -> ReplayApp:
    app = ReplayApp(session, refresh_interval=0.0)
    app.animation_level = "none"
    return app


async def _at_the_second_marker(pilot: Pilot[None]) -> None:
    """metric-data selected, the cursor on the marker "after the rejection" (event 13)."""
    app = pilot.app
    await pilot.press("home", "m", "m")
    await app.workers.wait_for_complete()
    await pilot.pause()
    app.query_one(ChannelList).select("metric-data")
    await pilot.pause()


def test_replay(snap_compare, session: Path) -> None:
    """A replay at 140x45, on the marker "after the rejection": the timeline on top says
    `⏸ REPLAY`, `event 13/15`, the event's time to the millisecond and `marker “after the
    rejection”`; the header says `MapStore · replay session.jsonl.gz`; metric-data has one
    card per producer (live users 160, latency 120); the event log ends with the
    rejection, in red, and the marker; the footer starts with the timeline's keys."""
    assert snap_compare(_replay(session), terminal_size=SIZE, run_before=_at_the_second_marker)


def test_replay_small(snap_compare, session: Path) -> None:
    """The same at 80x24: `event 13/15` and the time stay whole on the timeline (the
    event's description ends in `…`), and the footer keeps space, `[`, `]`, `m` and `x`."""
    assert snap_compare(_replay(session), terminal_size=SMALL, run_before=_at_the_second_marker)


def test_replay_what_if(snap_compare, session: Path) -> None:
    """`x` then polling-service, at the last event: the whole timeline turns the warning
    colour and its second line says `WHAT-IF: as if polling-service had never published on
    metric-data · x undoes it`; the preview has one card (live users 142) and the event log
    keeps polling-service's rejection but none of its publishes."""

    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.pause()
        pilot.app.query_one(ChannelList).select("metric-data")
        await pilot.pause()
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("down", "enter")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.pause()

    assert snap_compare(_replay(session), terminal_size=SIZE, run_before=run_before)
