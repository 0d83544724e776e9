"""Named endpoints, found and attached by name; tidy at exit; clear one-line CLI errors."""

from __future__ import annotations

import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mapstore_core import DebugAuthError, DebugClient, DebugServer, MapObjectStore
from mapstore_core.debug import list_debug_endpoints
from mapstore_tui import MapStoreApp
from mapstore_tui.cli import main
from mapstore_tui.demo.static_page import WELCOME
from mapstore_tui.remote_view import RemoteStoreView
from tests.poll import poll_until
from tests.processes import children, running
from tests.tmux import EXE, kill_session, needs_tmux, tmux, until_shown

from .helpers import AppProcess, DemoProcess, private_dir, stop_process


def endpoint_files(runtime: Path) -> list[str]:
    directory = runtime / "mapstore"
    return sorted(os.listdir(directory)) if directory.exists() else []


@pytest.fixture
def apps(tmp_path: Path, runtime: Path) -> Iterator[list[AppProcess]]:
    """Start apps with ``start(name)``; all are finished at the end."""
    started: list[AppProcess] = []
    yield started
    for app in started:
        app.finish(signal.SIGKILL)


def start(
    apps: list[AppProcess], tmp_path: Path, runtime: Path, script: str = "app.py"
) -> AppProcess:
    directory = private_dir(tmp_path / f"app{len(apps)}")
    app = AppProcess(directory, runtime, script=script)
    apps.append(app)
    return app


def test_endpoints_are_named_after_the_program(
    apps: list[AppProcess], tmp_path: Path, runtime: Path
) -> None:
    first = start(apps, tmp_path, runtime)
    assert first.name == "app"
    assert first.address == f"unix:{runtime / 'mapstore' / 'app.sock'}"
    second = start(apps, tmp_path, runtime)  # another live `python app.py`
    assert second.name == "app-2" and second.address.endswith("/app-2.sock")
    for app in (first, second):
        with DebugClient(app.name) as client:  # attach by name
            assert client.address == app.address
            assert client.welcome["name"] == app.name


def test_a_restarted_app_comes_back_at_the_same_address_and_the_view_reconnects(
    apps: list[AppProcess], tmp_path: Path, runtime: Path
) -> None:
    first = start(apps, tmp_path, runtime)
    statuses: list[str] = []
    view = RemoteStoreView("app", retry=0.05)
    view.on_status(statuses.append)
    view.connect()
    try:
        assert view.description == f"app · {first.address}"
        first.exit()
        poll_until(lambda: view.status == "disconnected", what="the view to notice")
        restarted = start(apps, tmp_path, runtime)
        assert restarted.address == first.address and restarted.pid != first.pid
        poll_until(lambda: view.status == "connected", what="the view to reconnect")
        assert statuses[-2:] == ["disconnected", "connected"]
        assert "heartbeat" in [c["name"] for c in view.channels()]
    finally:
        view.close()


@pytest.mark.parametrize("ending", ["normal exit", "ctrl+c"], ids=["normal-exit", "ctrl-c"])
def test_files_are_removed_at_exit(
    apps: list[AppProcess], tmp_path: Path, runtime: Path, ending: str
) -> None:
    app = start(apps, tmp_path, runtime)
    assert endpoint_files(runtime) == ["app.sock", "app.sock.json", "app.sock.token"]
    if ending == "normal exit":
        app.exit()
    else:
        app.finish(signal.SIGINT)
    assert app.process.returncode is not None
    assert endpoint_files(runtime) == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGHUP, signal.SIGTERM])
def test_serve_demo_removes_its_files_when_stopped(runtime: Path, sig: int) -> None:
    demo = DemoProcess(None)
    assert demo.address == f"unix:{runtime / 'mapstore' / 'demo.sock'}"
    assert "demo.sock" in endpoint_files(runtime)
    demo.stop(sig)
    assert demo.process.returncode == 0
    assert endpoint_files(runtime) == []


def test_serve_demo_stops_on_sigint_when_started_with_it_ignored(runtime: Path) -> None:
    """A script's ``mapstore-tui serve-demo &`` starts it with SIGINT ignored (a shell does
    that to background jobs); ``kill -INT`` then did nothing. It stops it now."""
    ignoring = "trap '' INT; exec \"$0\" "
    shown = "import signal; print(signal.getsignal(signal.SIGINT) == signal.SIG_IGN)"
    inherited = subprocess.run(
        ["sh", "-c", ignoring + '-c "$1"', sys.executable, shown], capture_output=True, text=True
    )
    assert inherited.stdout.strip() == "True"  # what serve-demo starts with below
    demo = subprocess.Popen(
        ["sh", "-c", ignoring + "-m mapstore_tui serve-demo --seed 1", sys.executable],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert demo.stdout is not None
        assert demo.stdout.readline().startswith("mapstore debug endpoint: ")
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=30) == 0
        assert endpoint_files(runtime) == []
    finally:
        stop_process(demo, signal.SIGKILL)
        if demo.stdout is not None:
            demo.stdout.close()


@needs_tmux
def test_serve_demo_stops_when_its_terminal_closes(runtime: Path) -> None:
    """tmux kill-session: SIGHUP, and the terminal gone; it stops and removes its files."""
    session = f"serve-demo-closed-{os.getpid()}"
    command = f"env XDG_RUNTIME_DIR={runtime} {EXE} serve-demo --seed 1; sleep 30"
    tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "20", command)
    try:
        until_shown(session, "attach with: mapstore-tui attach demo")
        shell = int(tmux("display", "-p", "-t", session, "#{pane_pid}"))
        [demo] = [p for p in children(shell) if "serve-demo" in p.cmdline]
    finally:
        kill_session(session)
    poll_until(lambda: not running(demo), what="serve-demo to exit after its terminal closed")
    assert endpoint_files(runtime) == []


def test_a_killed_apps_stale_files_are_cleaned_and_its_name_reused(
    apps: list[AppProcess], tmp_path: Path, runtime: Path
) -> None:
    killed = start(apps, tmp_path, runtime)
    killed.finish(signal.SIGKILL)
    assert "app.sock" in endpoint_files(runtime)  # nothing can clean up after SIGKILL
    restarted = start(apps, tmp_path, runtime)
    assert restarted.name == "app" and restarted.address == killed.address
    with DebugClient("app") as client:
        assert client.request("channels")


def test_ls_lists_live_endpoints_and_cleans_stale_ones(
    apps: list[AppProcess], tmp_path: Path, runtime: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live = start(apps, tmp_path, runtime)
    start(apps, tmp_path, runtime, script="worker.py").finish(signal.SIGKILL)
    assert "worker.sock" in endpoint_files(runtime)
    assert main(["ls"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "PID", "PROGRAM", "STARTED", "ADDRESS"]
    assert len(lines) == 2
    row = lines[1]
    assert row.startswith("app ") and f" {live.pid} " in row and "app.py" in row
    assert row.endswith(live.address)
    assert endpoint_files(runtime) == ["app.sock", "app.sock.json", "app.sock.token"]
    [endpoint] = list_debug_endpoints()
    assert (endpoint.name, endpoint.pid) == ("app", live.pid) and endpoint.started


def test_ls_with_nothing_running(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ls"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == "no live debug endpoints\n"


@pytest.fixture
def panel_runs(monkeypatch: pytest.MonkeyPatch, on_a_terminal: None) -> list[MapStoreApp]:
    """``attach`` opens the panel: record it instead of running it."""
    opened: list[MapStoreApp] = []

    async def run_async(self: MapStoreApp, **_: object) -> None:
        opened.append(self)
        assert self.view.channels()  # type: ignore[attr-defined]

    monkeypatch.setattr(MapStoreApp, "run_async", run_async)
    return opened


def test_attach_picks_the_only_endpoint(
    apps: list[AppProcess],
    tmp_path: Path,
    runtime: Path,
    panel_runs: list[MapStoreApp],
) -> None:
    app = start(apps, tmp_path, runtime)
    assert main(["attach"]) == 0
    [panel] = panel_runs
    assert panel.sub_title == f"app · {app.address}"  # the header names what it shows


def test_attach_with_several_endpoints(
    apps: list[AppProcess],
    tmp_path: Path,
    runtime: Path,
    panel_runs: list[MapStoreApp],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    start(apps, tmp_path, runtime)
    second = start(apps, tmp_path, runtime)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False, raising=False)
    assert main(["attach"]) == 2
    err = capsys.readouterr().err
    assert (
        err == "mapstore-tui: several debug endpoints are live (app, app-2); name one to attach\n"
    )
    assert panel_runs == []
    # On a terminal: a numbered list and a prompt.
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr("builtins.input", lambda prompt: "2")
    assert main(["attach"]) == 0
    assert panel_runs[0].sub_title == f"app-2 · {second.address}"
    out = capsys.readouterr().out
    assert " 1. app " in out and " 2. app-2 " in out


def test_the_chooser_says_why_it_asks_again(
    apps: list[AppProcess], tmp_path: Path, runtime: Path
) -> None:
    """In a real terminal (a pty): a bad answer at the prompt was met by the prompt again."""
    start(apps, tmp_path, runtime)
    start(apps, tmp_path, runtime)
    leader, follower = pty.openpty()
    child = subprocess.Popen(
        [sys.executable, "-m", "mapstore_tui", "attach"],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)},
    )
    os.close(follower)
    seen = b""

    def shown(text: str) -> None:
        nonlocal seen
        deadline = time.monotonic() + 10
        while text.encode() not in seen:
            assert time.monotonic() < deadline, f"{text!r} never shown: {seen.decode()!r}"
            if select.select([leader], [], [], 0.1)[0]:
                seen += os.read(leader, 4096)

    try:
        shown("attach to which (1-2, or a name)? ")
        os.write(leader, b"9\n")
        shown("'9' is not a number from 1 to 2 or a name (app, app-2)")
        os.write(leader, b"\n")
        shown("type a number from 1 to 2 or a name (app, app-2)")
        os.write(leader, b"\x04")  # ctrl+d: no choice
        shown("mapstore-tui: no endpoint chosen among app, app-2")
        assert child.wait(timeout=10) == 2
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        os.close(leader)


def test_attach_with_nothing_running(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["attach"]) == 2
    assert capsys.readouterr().err.startswith("mapstore-tui: no live debug endpoint")


def test_an_environment_token_goes_only_to_an_address_the_user_named(
    runtime: Path, panel_runs: list[MapStoreApp], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    with DebugServer(MapObjectStore(), name="solo", token="the-env-token") as server:
        assert server.token_path is not None
        server.token_path.unlink()  # only the environment holds the token now
        monkeypatch.setenv("MAPSTORE_DEBUG_TOKEN", "the-env-token")
        assert main(["attach"]) == 2  # picked for the user: the env token is not sent
        assert "(auth): wrong or missing token" in capsys.readouterr().err
        assert main(["attach", "solo"]) == 0  # named: it is
        assert len(panel_runs) == 1


def test_the_client_sends_no_token_to_another_users_endpoint() -> None:
    if os.getuid() != 0:
        pytest.skip("running an endpoint as another user needs root")
    base = Path(tempfile.mkdtemp(dir="/tmp"))
    try:
        os.chown(base, 65534, 65534)
        path = base / "other.sock"
        listener = textwrap.dedent(
            f"""
            import os, socket
            os.setgid(65534); os.setuid(65534)
            s = socket.socket(socket.AF_UNIX); s.bind({str(path)!r}); s.listen()
            print("ready", flush=True)
            conn, _ = s.accept(); conn.settimeout(5)
            data = b""
            try:
                while chunk := conn.recv(65536):
                    data += chunk
            except OSError:
                pass
            print(repr(data), flush=True)
            """
        )
        child = subprocess.Popen(
            [sys.executable, "-c", listener], stdout=subprocess.PIPE, text=True
        )
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        with pytest.raises(DebugAuthError, match=r"another user \(uid 65534\); not sending"):
            DebugClient(f"unix:{path}", token="secret-token", retry=None).connect()
        assert child.stdout.readline().strip() == "b''"  # it received nothing at all
        child.wait(timeout=10)
        child.stdout.close()
    finally:
        shutil.rmtree(base)


def test_the_attached_demos_welcome_names_no_missing_key(runtime: Path) -> None:
    demo = DemoProcess(None)
    view = RemoteStoreView("demo").connect()
    try:
        welcome = view.values("paragraph-content")["static-page-content"]["content"]
    finally:
        view.close()
        demo.stop()
    assert "press" not in welcome and "market-data-service" in welcome
    assert "press `r`" in WELCOME  # the in-process demo, which has the keys, names them


def user_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code  # type: ignore[assignment]
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["snapshot", "--attach", "/tmp/nope.sock"], "cannot reach unix:/tmp/nope.sock"),
        (["snapshot", "--attach", "127.0.0.1:1"], "cannot reach tcp://127.0.0.1:1"),
        (["snapshot", "--attach", "garbage"], "no live debug endpoint is named 'garbage'"),
        (["snapshot", "--attach", "localhost:99999"], "port 99999 is out of range"),
        (["log-producers", "--attach", "unix:"], "'unix:' needs a path"),
        (["attach", "tcp://[::1]:x"], "HOST:PORT"),
        (["attach", "http://x"], "http:// is not an address mapstore-tui takes (http://x): "
                                 "give a name from `mapstore-tui ls`, a socket path"),
        (["record", "https://x", "-o", "/tmp/never.jsonl"], "https:// is not an address"),
        (["serve-demo", "--port", "99999"], "port 99999 is out of range"),
        (["serve-demo", "--socket", "/tmp/x.sock"], "/tmp must belong to you"),
        (["serve-demo", "--name", "../etc"], "an endpoint name is"),
    ],
    ids=["no-socket", "no-tcp", "unknown-name", "port-range", "empty-unix", "bad-port",
         "http", "record-https", "serve-port", "shared-dir", "bad-name"],
)  # fmt: skip
def test_user_errors_are_one_line_and_exit_2(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert says in user_error(argv, capsys)


def test_socket_never_creates_directories(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nonexistent" / "dir"
    err = user_error(["serve-demo", "--socket", str(missing / "x.sock")], capsys)
    assert "does not exist" in err
    assert not missing.parent.exists()


def test_token_file_on_the_command_line(
    tmp_path: Path, socket_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = MapObjectStore()
    store.register_producer("prices", "price-feed")
    with DebugServer(store, port=0, token="tcp-token") as server:
        token_file = tmp_path / "token"
        token_file.write_text("tcp-token\n")
        token_file.chmod(0o600)
        assert (
            main(["log-producers", "--attach", server.address, "--token-file", str(token_file)])
            == 0
        )
        assert capsys.readouterr().out == store.log_producers() + "\n"
        token_file.chmod(0o644)
        err = user_error(
            ["log-producers", "--attach", server.address, "--token-file", str(token_file)], capsys
        )
        assert "readable by others" in err
