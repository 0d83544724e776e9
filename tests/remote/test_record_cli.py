"""``mapstore-tui record ADDRESS -o FILE``: a real app, a real recorder process, a real file.

The app publishes a known sequence when told to and then idles, so the recording's last
state can be compared with what the app answers, exactly. The recorder is stopped as a
person stops it (Ctrl+C, SIGTERM) once the file holds the app's state, or by ``--seconds``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

import pytest

from mapstore_core import RecordingError, RecordingWarning, open_recording
from tests.poll import poll_until

from .helpers import private_dir

APP = textwrap.dedent(
    """
    import json, sys
    from mapstore_core import MapObjectStore

    store = MapObjectStore()
    where = sys.argv[1] if len(sys.argv) > 1 else None
    if where == "tcp":
        server = store.serve_debug(port=0, announce=False)
    else:
        server = store.serve_debug(path=where, announce=False)
    orders = store.register_producer("orders", "order-service")
    orders.publish({"n": 0})
    print(json.dumps({"address": server.address, "name": server.name, "token": server.token}),
          flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "burst":
            for n in range(1, 21):
                orders.publish({"n": n})
            refunds = store.register_producer("refunds", "refund-service")
            refunds.publish({"id": 7})
            refunds.clear()
            store.register_producer("refunds", "import-job").close()
            store.register_producer("prices", "price-feed").publish({"AAPL": 190.1})
            answer = "ok"
        elif command == "state":
            answer = {
                "producers": [p.to_dict() for p in store.producers()],
                "values": {c.name: store.values(c.name) for c in store.channels()},
            }
        else:
            answer = "unknown"
        print(json.dumps(answer), flush=True)
    """
)


class App:
    """The app above in a child process: ``burst`` publishes, ``state`` answers its reads."""

    def __init__(self, directory: Path, where: str | None = None) -> None:
        """``where``: a socket path, ``tcp`` (a free loopback port), or by name (None)."""
        (directory / "app.py").write_text(APP)
        where_args = [where] if where is not None else []
        self.process = subprocess.Popen(
            [sys.executable, str(directory / "app.py"), *where_args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=directory,
        )
        started = json.loads(self.ask_line())
        self.address: str = started["address"]
        self.name: str = started["name"]
        self.token: str = started["token"]

    def ask_line(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, "the app did not answer"
        return line

    def ask(self, command: str) -> Any:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return json.loads(self.ask_line())

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture
def app(tmp_path: Path) -> Any:
    running = App(private_dir(tmp_path / "app"))
    yield running
    running.stop()


def recorder(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mapstore_tui", "record", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def finished(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    return process.returncode, out, err


def state_of(reads: Any) -> dict[str, Any]:
    """What the app's ``state`` command answers, read from a recording's view."""
    return json.loads(
        json.dumps(
            {
                "producers": [p.to_dict() for p in reads.producers()],
                "values": {c.name: reads.values(c.name) for c in reads.channels()},
            }
        )
    )


def last_state(path: Path) -> dict[str, Any] | None:
    """The state after the last event written so far (the file is still being written)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RecordingWarning)  # a line half written, at its end
        try:
            reader = open_recording(path)
        except RecordingError:  # not there yet, or its header not yet flushed
            return None
        return state_of(reader.state_at(-1)) if len(reader) else None


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_app_is_recorded_until_stopped(app: App, tmp_path: Path, stop: int) -> None:
    """By its name, as `ls` lists it: what the app did while recorded, then its last state."""
    path = tmp_path / "app.jsonl.gz"
    process = recorder("app", "-o", str(path))
    try:
        assert process.stderr is not None
        started = process.stderr.readline()
        assert started.startswith(f"mapstore-tui record: recording app at {app.address} "), started
        assert app.ask("burst") == "ok"
        answer = app.ask("state")
        poll_until(lambda: last_state(path) == answer, what="the app's state in the file")
        process.send_signal(stop)
        code, out, err = finished(process)
    finally:
        if process.poll() is None:  # the test failed before it stopped the recorder
            process.kill()
            process.communicate()
    assert code == 0, err
    assert err == ""  # nothing said after the start: the end of the connection is not news
    reader = open_recording(path)
    [line] = out.splitlines()
    assert re.fullmatch(
        rf"recorded {len(reader):,} events into {re.escape(str(path))} "
        r"\(\d[\d,]* bytes, 0 dropped(, \d+ resyncs?)?\)",
        line,
    ), line
    # A clear or a close overtakes the publish before it (publishes come in syncs): those
    # channels are read again whole, and the file says so. Nothing else jumped.
    gaps = [e.message or "" for e in reader.events() if e.kind == "gap"]
    assert all(gap.startswith("channel(s) ") for gap in gaps), gaps
    assert reader.markers() == [(f"recording app at {app.address}", 0)]
    first = state_of(reader.state_at(0))  # the state when recording began
    assert first["values"]["orders"] == {"order-service": {"n": 0}}
    assert [p["id"] for p in first["producers"]] == ["order-service"]
    orders = [e.update.value for e in reader.events() if e.kind == "published" and e.update]
    assert [value for value in orders if "n" in value] == [{"n": n} for n in range(1, 21)]
    assert state_of(reader.state_at(-1)) == answer == app.ask("state")


@pytest.mark.parametrize("over", ["socket", "tcp"])
def test_seconds_stops_it_by_itself(tmp_path: Path, over: str) -> None:
    """A socket path or HOST:PORT, the token on the command line; a quiet app: its state."""
    socket = private_dir(tmp_path / "run") / "shop.sock"
    app = App(private_dir(tmp_path / "app"), str(socket) if over == "socket" else "tcp")
    address = str(socket) if over == "socket" else app.address.removeprefix("tcp://")
    try:
        assert app.ask("burst") == "ok"
        answer = app.ask("state")
        path = tmp_path / "quiet.jsonl"
        code, out, err = finished(
            recorder(address, "--token", app.token, "-o", str(path), "--seconds", "1")
        )
        assert code == 0, err
        what = f"{app.name} at {app.address}"
        assert err.splitlines() == [f"mapstore-tui record: recording {what} into {path} for 1 s"]
        assert out.startswith("recorded ") and out.count("\n") == 1
        reader = open_recording(path)
        assert reader.markers() == [(f"recording {what}", 0)]
        assert state_of(reader.state_at(-1)) == answer == app.ask("state")
    finally:
        app.stop()


def test_an_absent_endpoint_is_one_line_and_no_file(tmp_path: Path) -> None:
    path = tmp_path / "never.jsonl.gz"
    code, out, err = finished(recorder(str(tmp_path / "nothing.sock"), "-o", str(path)))
    assert code == 2 and out == ""
    assert err.startswith("mapstore-tui: cannot reach unix:") and err.count("\n") == 1, err
    assert not path.exists()


def test_a_refused_token_is_one_line_and_no_file(app: App, tmp_path: Path) -> None:
    path = tmp_path / "never.jsonl.gz"
    code, out, err = finished(recorder(app.address, "--token", "wrong", "-o", str(path)))
    assert code == 2 and out == ""
    assert err.startswith("mapstore-tui: ") and err.count("\n") == 1, err
    assert "refused the connection (auth)" in err
    assert not path.exists()


def test_a_file_that_cannot_be_created_is_one_line(app: App, tmp_path: Path) -> None:
    path = tmp_path / "no-such-folder" / "app.jsonl"
    code, out, err = finished(recorder(app.address, "-o", str(path)))
    assert code == 2 and out == ""
    assert err == f"mapstore-tui: {path}: cannot create the recording: No such file or directory\n"
