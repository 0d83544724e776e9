"""The ``mapstore-lint`` command: exit status, formats, noqa, select/ignore, files and errors."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from mapstore_lint import lint_source, main

BAD = textwrap.dedent(
    """\
    from mapstore_core import MapObjectStore
    def start(store: MapObjectStore):
        feed = store.register_producer("metric-data", "producer1")
        feed.publish(1)
    """
)
CLEAN = textwrap.dedent(
    """\
    from mapstore_core import MapObjectStore
    def start(store: MapObjectStore):
        with store.register_producer("counter", "counter-service") as feed:
            feed.publish(1)
    """
)


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    status = main(list(argv), out=out)
    return status, out.getvalue()


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_exit_zero_when_clean_and_one_with_findings(tmp_path: Path) -> None:
    clean = write(tmp_path, "clean.py", CLEAN)
    bad = write(tmp_path, "bad.py", BAD)
    assert run(str(clean)) == (0, "")
    status, out = run(str(bad))
    assert status == 1
    assert out.splitlines() == [
        f"{bad}:3:12: missing-cleanup the producer 'feed' from register_producer() is never "
        "closed nor handed on (returned, stored, passed): its value stays in the store",
        f"{bad}:3:12: unvalidated-publish raw register_producer() on widget channel "
        "'metric-data' skips validation; migrate: "
        "create_widget_publisher(WidgetChannels.METRIC_DATA, 'producer1', store=...)",
        f"{bad}:3:51: non-descriptive-id producer id 'producer1' does not say which data "
        "source it is",
    ]


def test_summary_goes_to_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "bad.py", BAD)
    run(str(tmp_path))
    assert capsys.readouterr().err == (
        "mapstore-lint: 3 finding(s), 0 file(s) not read or not parsed, 1 file checked\n"
    )
    run("--quiet", str(tmp_path))
    assert capsys.readouterr().err == ""


def test_json_format(tmp_path: Path) -> None:
    bad = write(tmp_path, "bad.py", BAD)
    status, out = run("--format", "json", str(bad))
    assert status == 1
    records = json.loads(out)
    assert [(r["line"], r["column"], r["rule"], r["severity"]) for r in records] == [
        (3, 12, "missing-cleanup", "error"),
        (3, 12, "unvalidated-publish", "warning"),
        (3, 51, "non-descriptive-id", "warning"),
    ]
    assert records[0]["path"] == str(bad)
    assert records[0]["hint"].startswith("call close()")
    assert records[1]["hint"].startswith("the validated publisher refuses a bad payload")
    assert json.loads(run("--format", "json", str(write(tmp_path, "c.py", CLEAN)))[1]) == []


def test_github_format_is_workflow_commands(tmp_path: Path) -> None:
    bad = write(tmp_path, "a,b:c.py", BAD)
    status, out = run("--format", "github", "--select", "missing-cleanup", str(bad))
    assert status == 1
    path = str(bad).replace(":", "%3A").replace(",", "%2C")
    assert out == (
        f"::error file={path},line=3,col=12,title=mapstore-lint missing-cleanup::"
        "missing-cleanup: the producer 'feed' from register_producer() is never closed nor "
        "handed on (returned, stored, passed): its value stays in the store; call close() when "
        "the owner goes away, or use the producer as a context manager\n"
    )
    _, out = run("--format", "github", "--select", "non-descriptive-id", str(bad))
    assert out.startswith(f"::warning file={path},line=3,col=51,")


def test_select_and_ignore(tmp_path: Path) -> None:
    bad = str(write(tmp_path, "bad.py", BAD))

    def rules(*argv: str) -> list[str]:
        return [line.split()[1] for line in run(*argv, bad)[1].splitlines()]

    assert rules("--select", "non-descriptive-id") == ["non-descriptive-id"]
    assert rules("--select", "non-descriptive-id,missing-cleanup") == [
        "missing-cleanup",
        "non-descriptive-id",
    ]
    assert rules("--select", "missing-cleanup", "--select", "unvalidated-publish") == [
        "missing-cleanup",
        "unvalidated-publish",
    ]
    assert rules("--ignore", "missing-cleanup,unvalidated-publish") == ["non-descriptive-id"]
    assert run("--select", "duplicate-source", bad) == (0, "")


@pytest.mark.parametrize(
    "argv",
    [
        ["--select", "no-such-rule", "."],
        ["--ignore", "missing-cleanup,nope", "."],
        ["--format", "xml", "."],
        ["--no-such-option"],
    ],
)
def test_usage_errors_exit_two(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "mapstore-lint: error:" in capsys.readouterr().err


def test_unknown_rule_error_names_the_rules(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--select", "producer-in-widgets"])
    err = capsys.readouterr().err
    assert "unknown rule producer-in-widgets" in err
    assert "producer-in-widget," in err


def test_noqa(tmp_path: Path) -> None:
    line = '    store.register_producer("metric-data", "temp").close()'
    code = "import mapstore_core\ndef a(store):\n{}\n"

    def rules(comment: str) -> list[str]:
        return [f.rule for f in lint_source(code.format(line + comment))]

    assert rules("") == ["unvalidated-publish", "non-descriptive-id"]
    assert rules("  # noqa") == []
    assert rules("  # noqa: non-descriptive-id") == ["unvalidated-publish"]
    assert rules("  # NOQA:non-descriptive-id,unvalidated-publish") == []
    assert rules("  # noqa: unvalidated-publish non-descriptive-id") == []
    assert rules("  # noqa: E501") == ["unvalidated-publish", "non-descriptive-id"]
    assert rules("  # a note, not a noqa") == ["unvalidated-publish", "non-descriptive-id"]


def test_noqa_applies_to_the_reported_line_only() -> None:
    code = textwrap.dedent(
        """\
        import mapstore_core
        def a(store):  # noqa
            store.register_producer(  # noqa: missing-cleanup
                "metric-data",
                "temp",  # noqa: unvalidated-publish
            ).close()
        """
    )
    assert [(f.line, f.rule) for f in lint_source(code)] == [
        (3, "unvalidated-publish"),
        (5, "non-descriptive-id"),
    ]


def test_a_file_that_does_not_parse_is_reported_and_the_others_still_checked(
    tmp_path: Path,
) -> None:
    broken = write(tmp_path, "a_broken.py", "def broken(:\n    pass\n")
    bad = write(tmp_path, "b_bad.py", BAD)
    status, out = run(str(tmp_path))
    assert status == 2
    lines = out.splitlines()
    assert lines[0].startswith(f"{broken}:1:12: parse-error cannot parse: ")
    assert [line.split()[1] for line in lines[1:]] == [
        "missing-cleanup",
        "unvalidated-publish",
        "non-descriptive-id",
    ]
    assert str(bad) in lines[1]
    # parse errors are not rules: --select and --ignore do not hide them
    assert run("--ignore", "missing-cleanup", str(broken))[0] == 2


@pytest.mark.parametrize(
    "data",
    [b"x = 1\x00\n", b"\xff\xfe not utf-8\n", b"# -*- coding: no-such-codec -*-\nx = 1\n"],
    ids=["null-byte", "bad-utf8", "bad-cookie"],
)
def test_undecodable_sources_are_parse_errors(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "odd.py"
    path.write_bytes(data)
    status, out = run(str(path))
    assert status == 2
    assert out.startswith(f"{path}:") and " parse-error cannot parse" in out


def test_missing_path_is_an_error_and_the_rest_is_checked(tmp_path: Path) -> None:
    bad = write(tmp_path, "bad.py", BAD)
    status, out = run(str(tmp_path / "nope.py"), str(bad))
    assert status == 2
    assert f"{tmp_path / 'nope.py'}: read-error no such file or directory\n" in out
    assert "non-descriptive-id" in out


def test_directory_walk_skips_hidden_venv_and_caches(tmp_path: Path) -> None:
    for name in (
        ".venv/lib/x.py",
        ".git/hooks/x.py",
        "__pycache__/x.py",
        "venv/x.py",
        "node_modules/x.py",
        "build/x.py",
        "pkg/.hidden.py",
        "pkg/notes.txt",
    ):
        write(tmp_path, name, BAD)
    kept = write(tmp_path, "pkg/sub/mod.py", BAD)
    status, out = run("--select", "non-descriptive-id", str(tmp_path))
    assert status == 1
    assert [line.split(":")[0] for line in out.splitlines()] == [str(kept)]
    # a file given by name is always checked, wherever it is
    hidden = tmp_path / ".venv" / "lib" / "x.py"
    assert run("--select", "non-descriptive-id", str(hidden))[0] == 1


def test_symlinks_are_not_followed_while_walking(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write(outside, "bad.py", BAD)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "linked_dir").symlink_to(outside, target_is_directory=True)
    (tree / "linked.py").symlink_to(outside / "bad.py")
    assert run(str(tree)) == (0, "")


def test_list_rules() -> None:
    status, out = run("--list-rules")
    assert status == 0
    assert [line.split()[0] for line in out.splitlines()] == [
        "producer-in-widget",
        "registration-churn",
        "missing-cleanup",
        "non-descriptive-id",
        "duplicate-source",
        "unvalidated-publish",
    ]
    assert "missing-cleanup [error] (doctor: leaked-producer)" in out


def test_python_dash_m_and_no_ui_imports(tmp_path: Path) -> None:
    bad = write(tmp_path, "bad.py", BAD)
    done = subprocess.run(
        [sys.executable, "-m", "mapstore_lint", "--select", "non-descriptive-id", str(bad)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert done.stdout == (
        f"{bad}:3:51: non-descriptive-id producer id 'producer1' does not say which data "
        "source it is\n"
    )
    code = (
        "import sys; from mapstore_lint import main; main([sys.argv[1]]); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'textual', 'rich'}))"
    )
    done = subprocess.run([sys.executable, "-c", code, str(bad)], capture_output=True, text=True)
    assert done.stdout.splitlines()[-1] == "[]"


def test_console_script_is_declared() -> None:
    scripts = {e.name: e.value for e in entry_points(group="console_scripts")}
    assert scripts["mapstore-lint"] == "mapstore_lint:main"


def test_pre_commit_hook_entry() -> None:
    hooks = (Path(__file__).resolve().parents[2] / ".pre-commit-hooks.yaml").read_text()
    assert "- id: mapstore-lint" in hooks
    assert "entry: mapstore-lint" in hooks
    assert "types: [python]" in hooks


def test_consumer_only_bases_are_followed_across_the_files_checked(tmp_path: Path) -> None:
    write(tmp_path, "app/__init__.py", "")
    write(tmp_path, "app/ui/__init__.py", "")
    write(
        tmp_path,
        "app/ui/base.py",
        "from mapstore_core import consumer_only\n\n@consumer_only\nclass ChartBase:\n    pass\n",
    )
    write(
        tmp_path,
        "app/ui/mid.py",
        "from .base import ChartBase\n\nclass Mid(ChartBase):\n    pass\n",
    )
    write(
        tmp_path,
        "app/ui/textual_base.py",
        "from textual.widgets import Static\n\nclass Card(Static):\n    pass\n",
    )
    bars = write(
        tmp_path,
        "app/bars.py",
        textwrap.dedent(
            """\
            from mapstore_core import MapObjectStore
            from app.ui import base as b
            from app.ui.mid import Mid
            from app.ui.textual_base import Card

            class Bars(Mid):
                def on_mount(self, store):
                    self.feed = store.register_producer("bars", "bars-feed")

                def on_unmount(self):
                    self.feed.close()

            class Quiet(b.ChartBase):
                def on_mount(self, store):
                    with store.register_producer("bars", "quiet-feed"):  # noqa: producer-in-widget
                        pass

            class Badge(Card):
                def on_mount(self, store):
                    with store.register_producer("badges", "badge-feed"):
                        pass

            class Service(dict):
                def start(self, store):
                    with store.register_producer("svc", "svc-feed"):
                        pass
            """
        ),
    )
    status, out = run(str(tmp_path))
    assert status == 1
    assert out.splitlines() == [
        f"{bars}:8:21: producer-in-widget register_producer() in Bars.on_mount: Bars is a "
        "subclass of Mid (app.ui.mid), a subclass of ChartBase (app.ui.base), marked "
        "@consumer_only, and widgets consume only",
        f"{bars}:20:14: producer-in-widget register_producer() in Badge.on_mount: Badge is a "
        "subclass of Card (app.ui.textual_base), a Textual widget (subclass of Static), and "
        "widgets consume only",
    ]
    # the file alone cannot know what its bases are: nothing is claimed
    assert run(str(bars)) == (0, "")


def test_code_nested_too_deeply_to_check_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    deep = write(
        tmp_path,
        "deep.py",
        "def f(store):\n    x = store" + ".a" * 3000 + ".register_producer('m', 'temp')\n",
    )
    write(tmp_path, "later.py", BAD)
    status, out = run(str(tmp_path))
    assert status == 2
    lines = out.splitlines()
    assert lines[0].startswith(f"{deep}:1:1: parse-error too deeply nested to check: ")
    assert any("later.py" in line and "non-descriptive-id" in line for line in lines[1:])
