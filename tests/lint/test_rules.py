"""Each rule on its corpus file, on the demo, and on the ways users write registrations.

The corpus (``tests/lint/corpus/``) has one file per rule: the lines that must give a finding
carry ``# expect: <rule> at <text>`` (the column is where <text> starts); every other line,
the near misses included, must give none.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from mapstore_core import WidgetChannels
from mapstore_lint import RULES, WIDGET_CHANNELS, lint_source

from .helpers import CORPUS, SRC, expected, locate

CORPUS_FILES = sorted(CORPUS.glob("*.py"))


def found(path: Path) -> set[tuple[int, int, str]]:
    return {(f.line, f.column, f.rule) for f in lint_source(path.read_bytes(), str(path))}


def check(code: str) -> list[tuple[int, int, str]]:
    return [(f.line, f.column, f.rule) for f in lint_source(textwrap.dedent(code))]


def at(code: str, snippet: str, rule: str, after: str | None = None) -> tuple[int, int, str]:
    return (*locate(textwrap.dedent(code), snippet, after), rule)


def test_every_rule_has_a_corpus_file_with_true_positives() -> None:
    names = {p.stem.replace("_", "-") for p in CORPUS_FILES}
    assert names == set(RULES)
    for path in CORPUS_FILES:
        rules = {rule for _, _, rule in expected(path)}
        assert rules == {path.stem.replace("_", "-")}, path.name


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.stem)
def test_corpus_findings_are_exactly_the_marked_ones(path: Path) -> None:
    """True positives at their line and column; the near misses in the file stay silent."""
    want = expected(path)
    assert len(want) >= 4
    assert found(path) == want


def test_demo_antipatterns_gives_each_rule_it_breaks_at_the_right_line() -> None:
    path = SRC / "mapstore_tui" / "demo" / "antipatterns.py"
    text = path.read_text(encoding="utf-8")
    want = {
        (*locate(text, "create_widget_publisher(", after="def mount"), "producer-in-widget"),
        (*locate(text, '"producer1"'), "non-descriptive-id"),
        (*locate(text, 'store.register_producer("price-ticks"'), "duplicate-source"),
        (*locate(text, "self._store.register_producer(", after="def _leak"), "missing-cleanup"),
        (
            *locate(text, 'store.register_producer(WidgetChannels.METRIC_DATA, "legacy'),
            "unvalidated-publish",
        ),
        (*locate(text, 'store.register_producer("render-status"'), "registration-churn"),
    }
    assert {rule for *_, rule in want} == set(RULES)
    assert found(path) == want


def test_every_other_source_of_the_project_is_clean() -> None:
    """The demo's good sources, the panel and the core give no finding."""
    checked = 0
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "antipatterns.py":
            continue
        assert found(path) == set(), path
        checked += 1
    assert checked > 50
    demo = SRC / "mapstore_tui" / "demo"
    assert {"market_data.py", "realtime.py", "polling.py", "ai_job.py"} <= {
        p.name for p in demo.glob("*.py")
    }


def test_widget_channel_table_matches_the_enum() -> None:
    assert {m.name: m.value for m in WidgetChannels} == WIDGET_CHANNELS


def test_imports_under_other_names_are_followed() -> None:
    code = """
        import mapstore_core as ms
        from mapstore_core import create_widget_publisher as pub, WidgetChannels as WC

        def a(store):
            pub(WC.METRIC_DATA, "producer1", store=store).close()
            ms.create_widget_publisher("metric-data", "temp").close()

        def b(store):
            from mapstore_core import create_widget_publisher as make
            make("metric-data", "tmp").close()
    """
    assert check(code) == [
        at(code, '"producer1"', "non-descriptive-id"),
        at(code, '"temp"', "non-descriptive-id"),
        at(code, '"tmp"', "non-descriptive-id"),
    ]


def test_names_that_only_look_like_ours_are_not_registrations() -> None:
    code = """
        from myapp.helpers import create_widget_publisher
        import myapp as ms

        def a(store):
            create_widget_publisher("metric-data", "producer1")
            ms.create_widget_publisher("metric-data", "temp")
            store._register_producer("metric-data", "tmp")
    """
    assert check(code) == []


def test_star_import_from_mapstore_core_counts() -> None:
    code = """
        from mapstore_core import *

        def a():
            create_widget_publisher(WidgetChannels.METRIC_DATA, "producer1").close()
    """
    assert check(code) == [at(code, '"producer1"', "non-descriptive-id")]


def test_keyword_and_positional_arguments() -> None:
    code = """
        import mapstore_core
        def a(store):
            store.register_producer(producer_id="tmp", channel="metric-data").close()
            store.register_producer("metric-data", producer_id="foo").close()
    """
    assert check(code) == [
        at(code, "store.register_producer", "unvalidated-publish"),
        at(code, '"tmp"', "non-descriptive-id"),
        at(code, "store.register_producer", "unvalidated-publish", after='"tmp"'),
        at(code, '"foo"', "non-descriptive-id"),
    ]


def test_fstring_ids_are_skipped_not_guessed() -> None:
    code = """
        import mapstore_core
        def a(store, n):
            store.register_producer("counter", f"producer{n}").close()
            store.register_producer("counter", "producer" + str(n)).close()
    """
    assert check(code) == []


def test_column_counts_characters_not_bytes() -> None:
    code = (
        "import mapstore_core\n"
        'def a(store):\n    é = "ü"; store.register_producer("x", "temp").close()\n'
    )
    line = code.splitlines()[2]
    characters = line.index('"temp"') + 1
    assert line.encode().index(b'"temp"') + 1 != characters  # the two counts differ here
    assert check(code) == [(3, characters, "non-descriptive-id")]


def test_consumer_only_subclass_across_files_is_not_claimed() -> None:
    """lint_source judges one file alone: a base from another module is not guessed."""
    code = """
        import mapstore_core
        from myapp.widgets import ChartWidget

        class Bars(ChartWidget):
            def on_mount(self, store):
                self.feed = store.register_producer("bars", "bars-feed")

            def on_unmount(self):
                self.feed.close()
    """
    assert check(code) == []


def test_only_names_bound_once_to_a_string_count_as_constants() -> None:
    code = """
        import mapstore_core
        GENERIC = "temp"
        CHANGED = "feed-service"
        CHANGED = "tmp"
        LATER = compute()
        LATER = "producer1"

        def a(store):
            store.register_producer("m1", GENERIC).close()
            store.register_producer("m2", CHANGED).close()
            store.register_producer("m3", LATER).close()
    """
    assert check(code) == [at(code, "GENERIC).close", "non-descriptive-id")]


def test_unvalidated_publish_says_how_to_migrate() -> None:
    code = """
        import mapstore_core as ms

        def a(store, Order):
            ms.define_channel("orders", Order, store=store)
            with store.register_producer(ms.WidgetChannels.TABLE_DATA, "legacy-table"):
                pass
            with store.register_producer("orders", "legacy-orders"):
                pass
    """
    messages = [f.message for f in lint_source(textwrap.dedent(code))]
    assert messages == [
        "raw register_producer() on widget channel 'table-data' skips validation; migrate: "
        "create_widget_publisher(WidgetChannels.TABLE_DATA, 'legacy-table', store=...)",
        "raw register_producer() on schema channel 'orders' skips validation; migrate: "
        "create_widget_publisher('orders', 'legacy-orders', store=...)",
    ]
