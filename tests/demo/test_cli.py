from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mapstore_core import MapObjectStore
from mapstore_tui import __version__
from mapstore_tui.cli import main
from mapstore_tui.demo import DemoSources


def test_log_producers_demo_matches_the_store(capsys) -> None:
    assert main(["log-producers", "--demo"]) == 0
    out = capsys.readouterr().out
    sources = DemoSources(MapObjectStore(), seed=0)
    sources.start()
    try:
        assert out == sources.store.log_producers() + "\n"
    finally:
        sources.stop()
    assert out.startswith("📤 Channel: paragraph-content\n   Producers: 2\n")


def test_snapshot_demo_is_json(capsys) -> None:
    assert main(["snapshot", "--demo"]) == 0
    snap = json.loads(capsys.readouterr().out)
    assert {p["id"] for p in snap["producers"]} >= {"market-data-service", "realtime-service"}
    assert "table-data" in snap["values"]


def test_version(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"mapstore-tui {__version__}"


def test_bad_flags_exit_nonzero_with_a_message(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["demo", "--seed", "many"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "invalid int value: 'many'" in err
    assert err.count("\n") == 1  # one line, no usage dump


def test_an_unknown_option_is_named_and_a_missing_command_listed(capsys) -> None:
    """`mapstore-tui --bogus` said "the following arguments are required: COMMAND"."""
    for argv, says in (
        (["--bogus"], "unrecognized arguments: --bogus (see --help)"),
        (["--bogus", "demo"], "unrecognized arguments: --bogus (see --help)"),
        ([], "a COMMAND is missing: demo, serve-demo, attach, fleet-demo, ls, record, "),
    ):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith(f"mapstore-tui: error: {says}") and err.count("\n") == 1, err


def test_python_dash_m_works() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mapstore_tui", "log-producers", "--demo"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "📤 Channel: table-data" in done.stdout


def test_help_lists_the_commands(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "demo" in out and "log-producers" in out and "snapshot" in out
    assert "ls" in out.split() and "attach" in out and "serve-demo" in out


def test_headless_commands_need_a_source(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["log-producers"])
    assert info.value.code == 2
    assert "--demo" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["demo"], ["fleet-demo"], ["replay", __file__]])
def test_a_panel_without_a_terminal_says_so_instead_of_spinning(
    command: list[str], tmp_path: Path
) -> None:
    """`mapstore-tui demo < /dev/null` drew, ignored `q` and spun at 100% CPU until killed
    (and wrote escape codes into a file when stdout was one). Now: one line and exit 2,
    before a source or worker starts; the command's own errors still come first."""
    result = subprocess.run(
        [sys.executable, "-m", "mapstore_tui", *command],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    assert list(tmp_path.iterdir()) == []  # fleet-demo's directory is not left behind
    if command[0] == "replay":  # not a recording: that says more than "no terminal"
        assert result.returncode == 2 and "terminal" not in result.stderr
        return
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr == (
        f"mapstore-tui: {command[0]} draws a panel and needs a terminal, but stdin is not one"
        " (in a script, `log-producers` and `snapshot` print what the panel shows)\n"
    )
