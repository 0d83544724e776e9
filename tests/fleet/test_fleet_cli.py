"""``mapstore-tui`` over a fleet: headless prints as an observer, and fleet-demo's errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mapstore_tui import cli
from tests.fleet.helpers import NS, Fleet
from tests.link.helpers import RedisServer
from tests.poll import poll_until


def test_log_producers_and_snapshot_attach_to_a_fleet(
    redis_server: RedisServer, capsys: pytest.CaptureFixture[str]
) -> None:
    fleet = Fleet(redis_server.url).start()
    try:
        url = redis_server.url
        assert cli.main(["log-producers", "--attach", url, "--namespace", NS]) == 0
        text = capsys.readouterr().out
        assert "   1. polling-service (producer @ services-1)" in text or (
            "polling-service (producer @ services-2)" in text
        )
        assert "summary-service (producer @ jobs-1)" in text
        assert cli.main(["snapshot", "--attach", url, "--namespace", NS]) == 0
        snapshot = json.loads(capsys.readouterr().out)
        assert "order-events" in json.dumps(snapshot)
        # the observers registered nothing and were never a process of the fleet
        procs = redis_server.client().zrange(f"mapstore:{NS}:procs", 0, -1)
        assert sorted(p.decode() for p in procs) == sorted(fleet.stores)
    finally:
        fleet.close()


def test_a_namespace_nobody_linked_to_says_so(
    redis_server: RedisServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The text alone, "No producers registered", read as if the fleet had none: it names
    the namespace that has live processes at that Redis (and no odd key there misleads it)."""
    fleet = Fleet(redis_server.url).start()
    try:
        url = redis_server.url
        client = redis_server.client()
        seconds, _ = client.time()
        live = (int(seconds) + 60) * 1000
        client.zadd("mapstore:a b:procs", {"w": live})  # no valid namespace
        client.zadd(b"mapstore:\xff:procs", {"w": live})  # not UTF-8
        client.zadd("mapstore:stopped:procs", {"w": 1000})  # only gone processes
        client.zadd("mapstore:hostile:procs", {"w": 1e18})  # an impossible deadline
        client.set("mapstore:text:procs", "not a registry")  # another type
        client.close()
        assert cli.main(["log-producers", "--attach", url, "--namespace", "fleat"]) == 0
        out, err = capsys.readouterr()
        assert out == "📤 No producers registered\n"
        assert err == (
            f"mapstore-tui: namespace 'fleat' at {url} has no live process: nothing has "
            f"linked to it; live processes are in namespace {NS} (--namespace {NS})\n"
        )
        assert cli.main(["log-producers", "--attach", url, "--namespace", NS]) == 0
        assert capsys.readouterr().err == ""  # the fleet's own: nothing to say
    finally:
        fleet.close()


def test_an_empty_redis_says_only_that_nothing_linked(
    redis_server: RedisServer, capsys: pytest.CaptureFixture[str]
) -> None:
    url = redis_server.url
    assert cli.main(["log-producers", "--attach", url, "--namespace", "fleat"]) == 0
    assert capsys.readouterr().err == (
        f"mapstore-tui: namespace 'fleat' at {url} has no live process: nothing has "
        "linked to it; is it the namespace your apps give store.link()?\n"
    )


def test_a_bad_namespace_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["log-producers", "--attach", "redis://127.0.0.1:1/0", "--namespace", "a b"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "namespace" in err


def test_an_unreachable_redis_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "_READY_TIMEOUT", 0.5)
    url = "redis://user:secret@127.0.0.1:1/0"
    assert cli.main(["snapshot", "--attach", url, "--namespace", "dash"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot read namespace 'dash'" in err
    assert "secret" not in err


def test_an_unreachable_redis_says_only_the_commands_line() -> None:
    """The link's own warning ("Redis unreachable …; retrying"), printed bare by Python's
    logging when nothing is set up, came first and contradicted the line that follows."""
    done = subprocess.run(
        [sys.executable, "-m", "mapstore_tui", "snapshot", "--attach", "redis://127.0.0.1:1/0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "retrying" not in done.stderr
    assert "cannot read namespace 'mapstore'" in done.stderr


def test_the_links_warnings_still_reach_logging_set_up_by_an_app() -> None:
    import logging

    from mapstore_core import MapObjectStore

    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    keep = Keep()
    logger = logging.getLogger("mapstore_core.link")
    logger.addHandler(keep)
    try:
        store = MapObjectStore()
        link = store.link("redis://127.0.0.1:1/0", namespace="dash", observer=True)
        try:
            poll_until(lambda: any("unreachable" in m for m in seen), what="the warning")
        finally:
            link.close()
    finally:
        logger.removeHandler(keep)


def test_fleet_demo_without_redis_says_how_to_get_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("mapstore_tui.fleet_demo.find_redis_server", lambda: None)
    assert cli.main(["fleet-demo"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "redis-server" in err and "pip install" in err


def test_fleet_demo_without_the_redis_module_names_the_extra(tmp_path: Path) -> None:
    """The base install with a redis-server on PATH ended in a ModuleNotFoundError traceback.

    ``sys.modules['redis'] = None`` is how Python marks a module that cannot be imported:
    ``import redis`` raises ModuleNotFoundError, as in a virtualenv without the extra.
    """
    blocked = (
        "import sys; sys.modules['redis'] = None; "
        "from mapstore_tui.cli import main; sys.exit(main(['fleet-demo']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", blocked],
        capture_output=True,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr == (
        "mapstore-tui: fleet-demo needs the redis extra: pip install 'mapstore[redis]'\n"
    )
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []  # nothing started: no redis-server, no directory


@pytest.mark.parametrize(
    "argv",
    [
        ["attach", "redis://127.0.0.1:1/0", "--namespace", "x"],
        ["log-producers", "--attach", "redis://127.0.0.1:1/0"],
        ["record", "redis://127.0.0.1:1/0", "-o", "out.jsonl"],
    ],
)
def test_a_redis_address_without_the_redis_module_names_the_command(
    argv: list[str], tmp_path: Path
) -> None:
    """It said "store.link() needs the redis extra", a call the person never made."""
    blocked = (
        "import sys; sys.modules['redis'] = None; "
        f"from mapstore_tui.cli import main; sys.exit(main({argv!r}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", blocked], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr == (
        f"mapstore-tui: {argv[0]} with a redis:// address needs the redis extra: "
        "pip install 'mapstore[redis]'\n"
    )
    assert list(tmp_path.iterdir()) == []  # no recording file begun
