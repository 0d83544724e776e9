"""The panel's small policies, without Textual: formats, column fitting, the header line,
rates, the redraw throttle, publish sampling and toasts (all on injected clocks)."""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len

from mapstore_core import Diagnostic, StoreEvent
from mapstore_tui._format import (
    clip,
    clip_left,
    clip_middle,
    compact,
    plural,
    problems_text,
    rate,
)
from mapstore_tui.rates import RateTracker
from mapstore_tui.sampling import sample_publishes
from mapstore_tui.throttle import RedrawThrottle
from mapstore_tui.toasts import ToastPolicy
from mapstore_tui.widgets.fitted import Column, fit_widths
from mapstore_tui.widgets.header import Totals, header_text

from ..conftest import FakeClock


def test_counts_and_rates_are_compact_and_never_cut() -> None:
    assert [compact(n) for n in (0, 7, 1_841, 9_999, 18_400, 566_800, 1_841_587, 2.1e9)] == [
        "0", "7", "1,841", "9,999", "18.4k", "567k", "1.8M", "2.1G"
    ]  # fmt: skip
    assert [rate(r) for r in (0, 0.01, 0.3, 4, 14.2, 566_800)] == [
        "0/s", "<0.1/s", "0.3/s", "4.0/s", "14/s", "567k/s"
    ]  # fmt: skip
    assert max(len(compact(n)) for n in range(0, 10**10, 999_983)) <= 5


def test_text_ends_in_an_ellipsis_and_paths_keep_their_end() -> None:
    assert clip("market-data-service", 10) == "market-da…"
    assert clip("short", 10) == "short"
    path = "src/mapstore_tui/demo/static_page.py:31"
    assert clip_left(path, 26) == "…/demo/static_page.py:31"
    assert clip_left(path, 60) == path
    assert len(clip_left(path, 12)) <= 12 and clip_left(path, 12).endswith(".py:31")


def test_plurals() -> None:
    assert [plural(n, "producer") for n in (0, 1, 2)] == [
        "0 producers", "1 producer", "2 producers"
    ]  # fmt: skip
    assert str(Totals(1, 1, 1, 1, 0.0)) == "1 channel · 1 producer · 1 consumer · 1 msg · 0/s"


def test_problems_are_formatted_in_one_place() -> None:
    assert problems_text(
        {"value": "Input should be a valid number", "label": "Field required"}
    ) == ("value: Input should be a valid number; label: Field required")
    assert problems_text(None, "fallback") == "fallback"


def test_columns_fit_numbers_first_paths_give_way_first() -> None:
    columns = [
        Column("Producer", floor=12, give=2),
        Column("Registered at", "path", floor=20, give=0),
        Column("Msgs", "number"),
        Column("Doctor", floor=12, give=1),
    ]
    natural = [20, 42, 9, 30]
    assert fit_widths(columns, natural, 200) == natural  # room: nothing shrinks
    widths = fit_widths(columns, natural, 80)
    assert sum(widths) + len(widths) <= 80
    assert widths[2] == 9  # numbers never shrink
    assert widths[1] == 20  # the path gave way first, down to its floor
    floors = fit_widths(columns, natural, 10)
    assert floors == [12, 20, 9, 12]  # too narrow: the floors (the table scrolls)


def test_header_fits_any_width_and_keeps_the_title_and_pause() -> None:
    totals = Totals(3, 5, 4, 1_841_587, 566_800)
    wide = header_text("MapStore · demo", totals, 140).plain
    assert wide == (
        "📤 MapStore · demo  │  3 channels · 5 producers · 4 consumers · 1.8M msgs · 567k/s"
    )
    small = header_text("MapStore · demo", totals, 78, paused=True).plain
    assert "MapStore · demo" in small and "⏸ PAUSED" in small and "1.8M msgs" in small
    long_name = "MapStore · orders-api (unix:/run/user/1000/mapstore/orders-api-12345.sock)"
    for width in (60, 78, 138):
        line = header_text(long_name, totals, width, notice="⚠ disconnected").plain
        assert len(line) <= width - 1  # the icon is two cells wide
        assert "⚠ disconnected" in line and "msgs" in line
    assert "…" in header_text(long_name, totals, 78).plain


def test_rate_counts_the_last_seconds_up_to_the_latest_read() -> None:
    rates = RateTracker(window=10)
    for second in range(12):  # a slow channel: one publish every 3 s
        rates.sample({"slow": second // 3}, float(second))
    assert 0.2 <= rates.current("slow") <= 0.4
    # a publish just now shows at once, not at the next sample
    quiet = RateTracker(window=10)
    quiet.sample({"c": 5}, 0.0)
    quiet.sample({"c": 5}, 1.0)
    assert quiet.current("c") == 0
    assert quiet.current("c", 6, 1.5) > 0


def test_a_rate_is_unknown_until_readings_span_a_second_or_after_a_restart() -> None:
    rates = RateTracker(window=10)
    rates.observe("slow", 7, 100.0)
    assert rates.known_rate("slow", 7, 100.25) is None  # a moment: "0/s" would be a guess
    assert rates.known_rate("slow", 8, 101.0) is None  # one publish: no pace yet
    assert rates.known_rate("slow", 9, 101.0) == 2.0
    rates.observe("slow", 8, 101.0)
    # the app restarted: its count starts again, and it is no drop to zero
    assert rates.known_rate("slow", 2, 101.5) is None
    rates.observe("slow", 2, 101.5)
    assert rates.known_rate("slow", 2, 102.0) is None
    assert rates.known_rate("slow", 5, 102.5) == 3.0
    assert str(Totals(1, 1, 1, 1, None)).endswith("1 msg · —/s")


def test_a_rate_is_known_once_a_pace_or_a_whole_window_was_seen_never_a_false_zero() -> None:
    rates = RateTracker(window=10)
    shown: list[float | None] = []
    for second in range(13):  # one publish every 3 s, the first at 1 s
        count = 5 + (second + 2) // 3
        rates.observe("slow", count, float(second))
        shown.append(rates.known_rate("slow", count, float(second)))
    assert shown[:4] == [None] * 4  # 0 or 1 publish seen: 0/s or 1/s would be a guess
    assert all(r is not None and 0.25 <= r <= 0.5 for r in shown[4:])
    quiet = RateTracker(window=10)
    for second in range(11):  # published long ago, quiet since
        quiet.observe("once", 1, float(second))
        quiet.observe("never", 0, float(second))
        if second < 10:
            assert quiet.known_rate("once", 1, float(second)) is None
        assert quiet.known_rate("never", 0, float(second)) is None  # no publish: no rate
    assert quiet.known_rate("once", 1, 10.0) == 0  # a whole window without one: 0/s is true
    assert quiet.known_rate("never", 0, 10.0) is None


def test_throttle_spaces_redraws_and_backs_off_under_load() -> None:
    clock = FakeClock(0.0)
    cpu = [0.0]
    throttle = RedrawThrottle(0.05, clock=clock, cpu_clock=lambda: cpu[0])
    assert throttle.wait() == 0
    throttle.redrawn()
    assert throttle.wait() == 0.05
    clock.advance(0.02)
    assert abs(throttle.wait() - 0.03) < 1e-9
    for _ in range(10):  # the panel burns 80% of a core: the gap grows, up to a second
        clock.advance(0.6)
        cpu[0] += 0.48
        throttle.redrawn()
    assert throttle.gap == 1.0
    for _ in range(12):  # calm again: back to the interval
        clock.advance(0.6)
        throttle.redrawn()
    assert throttle.gap == 0.05
    assert RedrawThrottle(0, clock=clock).wait() == 0  # tests: every change at once


def _history(updates: dict[str, list[dict[str, Any]]]):
    return lambda name, limit: updates[name][-limit:]


def _update(seq: int, producer: str) -> dict[str, Any]:
    return {
        "channel": "metric-data",
        "producer_id": producer,
        "seq": seq,
        "timestamp": float(seq),
        "kind": "published",
        "value": seq,
    }


def test_sampling_logs_the_latest_publishes_and_counts_the_rest() -> None:
    updates = {"metric-data": [_update(seq, "realtime-service") for seq in range(1, 101)]}
    events, unshown = sample_publishes(
        {"metric-data": 100}, _history(updates), per_channel=5, per_batch=20
    )
    assert [e.update.seq for e in events if e.update] == [96, 97, 98, 99, 100]
    assert unshown == 95
    assert sample_publishes({}, _history(updates)) == ([], 0)


def test_sampled_publishes_keep_the_process_of_a_linked_producer() -> None:
    remote = {**_update(7, "tick-service"), "process": "web-2"}
    [event], unshown = sample_publishes({"metric-data": 1}, _history({"metric-data": [remote]}))
    assert (event.process, event.seq, unshown) == ("web-2", 7, 0)
    assert event.update is not None and event.update.process == "web-2"


def _rejected(producer: str, channel: str = "metric-data") -> StoreEvent:
    return StoreEvent(
        "validation_failed",
        channel,
        producer,
        0.0,
        message="1 field failed\n  - value: this text is not what the toast reads",
        problems={"value": "Input should be a valid number"},
    )


def test_toasts_come_from_problems_rate_limited_per_source() -> None:
    clock = FakeClock(0.0)
    policy = ToastPolicy(clock, every=10, per_batch=3)
    [toast] = policy.admit([_rejected("flaky-sensor"), _rejected("flaky-sensor")])
    assert toast.title == "Invalid payload rejected" and toast.severity == "error"
    assert toast.message == (
        "flaky-sensor sent an invalid payload to metric-data: value: Input should be a valid number"
    )
    assert policy.admit([_rejected("flaky-sensor")]) == []  # same source within 10 s
    clock.advance(10)
    [again] = policy.admit([_rejected("flaky-sensor")])
    assert again.message.endswith("(2 more since the last toast)")  # the repeats, counted
    many = [_rejected(f"sensor-{n}") for n in range(6)]
    *few, more = policy.admit(many)
    assert len(few) == 3  # a few per batch, then one that says the rest is in the log
    assert (more.title, more.message) == (
        "More problems",
        "3 more problem(s): the event log (e) has them all",
    )
    failed = Diagnostic("job-failed", "warning", "paragraph-content", "job-bridge:1", "boom", "")
    event = StoreEvent("diagnostic", "paragraph-content", "job-bridge:1", 0.0, diagnostic=failed)
    [job] = policy.admit([event, StoreEvent("registered", "x", "y", 0.0)])
    assert (job.title, job.message, job.severity) == ("Job failed", "boom", "warning")


def test_a_problem_that_repeats_every_second_is_one_toast_a_minute() -> None:
    """A flaky sensor under --antipatterns must not keep a pane covered."""
    clock = FakeClock(0.0)
    policy = ToastPolicy(clock)
    shown = []
    for _second in range(180):
        shown += policy.admit([_rejected("flaky-sensor")])
        clock.advance(1)
    assert len(shown) == 3
    assert [t.message.rsplit("(", 1)[-1] for t in shown[1:]] == [
        "59 more since the last toast)",
        "59 more since the last toast)",
    ]


def test_ids_cut_in_the_middle_stay_apart() -> None:
    """At 80x24 the overview cut ids at the right: price-ticker-a and -b read the same."""
    pairs = [("price-ticker-a", "price-ticker-b"), ("services-1", "services-2")]
    for width in range(5, 12):
        for one, other in pairs:
            a, b = clip_middle(one, width), clip_middle(other, width)
            assert a != b and cell_len(a) <= width and cell_len(b) <= width
    assert clip_middle("price-ticker-a", 11) == "price-t…r-a"
    assert clip_middle("legacy-metrics-adapter", 12) == "legac…dapter"
    assert clip_middle("short", 11) == "short"


def test_kind_and_state_stay_whole_while_long_ids_give_way() -> None:
    """At 140x45 with --antipatterns, Producers cut Kind to 'produc…' and State to 'value …'
    (hiding 'raw') while long ids stayed whole; ids now give way first (cut in the middle)."""
    from mapstore_tui.screens.overview import OverviewTable
    from mapstore_tui.widgets.tables import ProducersTable

    for table in (ProducersTable, OverviewTable):
        columns = table.COLUMNS
        labels = [c.label for c in columns]
        natural = [len(c.label) for c in columns]
        natural[labels.index("Producer")] = 40  # legacy-metrics-adapter → table-widget
        natural[labels.index("Kind")] = len("producer")
        natural[labels.index("State")] = len("value raw")
        natural[labels.index("Registered at")] = 30
        natural[labels.index("Doctor")] = 30
        widths = fit_widths(columns, natural, sum(natural) + len(natural) - 45)
        assert widths[labels.index("Kind")] == len("producer")
        assert widths[labels.index("State")] == len("value raw")
        assert widths[labels.index("Producer")] < 40


def test_a_narrow_table_leaves_out_its_least_important_columns_first() -> None:
    from mapstore_tui.widgets.fitted import shown_columns
    from mapstore_tui.widgets.tables import ProducersTable

    columns = ProducersTable.COLUMNS
    labels = [c.label for c in columns]
    natural = [max(len(c.label), 12) for c in columns]
    floors = [c.floor for c in columns]
    assert shown_columns(columns, natural, floors, 1_000) == list(range(len(columns)))
    narrow = [labels[i] for i in shown_columns(columns, natural, floors, 60)]
    assert narrow[:2] == ["Producer", "Registered at"]
    assert "Rate" not in narrow and "State" in narrow
    assert [labels[i] for i in shown_columns(columns, natural, floors, 10)] == [
        "Producer",
        "Registered at",
        "State",
    ]  # what never goes: the table then scrolls sideways
