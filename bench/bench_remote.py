"""mapstore debug endpoint benchmark: what attached panels cost the app, how fresh they are,
and whether a stopped app can freeze one.

Run:  .venv/bin/python bench/bench_remote.py        (needs tmux for the third measure)

1. Validated publishes/s in the app with 0, 1 and 5 attached panels' views
   (``RemoteStoreView``: a client keeping a mirror, as ``mapstore-tui attach`` does; they
   run in the same process, which only adds to the cost), in alternating rounds. Target
   with 1: >= 0.8x of none.
2. Latency from ``publish()`` in the app to the value in the attached view's mirror, at a
   steady 1,000 publishes/s (publishes arrive coalesced, in syncs at most every 50 ms).
   Target p95 < 100 ms.
3. In a real terminal (tmux): ``mapstore-tui attach`` over ``mapstore-tui serve-demo``, key
   -> screen change (a bottom pane switched) with the app running, then with the app stopped
   by ``kill -STOP``. Target with the app stopped: p95 < 250 ms.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mapstore_core import DebugServer, MapObjectStore, StoreEvent, create_widget_publisher
from mapstore_tui.remote_view import RemoteStoreView

PAYLOAD = {"label": "CPU", "value": 0.42, "change": 0.01, "change_type": "increase"}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# 1 -------------------------------------------------------------------------------------------


def publish_rate(clients: int, count: int, socket_dir: Path) -> float:
    store = MapObjectStore()
    publisher = create_widget_publisher("metric-data", "bench-service", store=store)
    store.register_consumer("metric-data", "bench-widget", callback=lambda u: None)
    with DebugServer(store, path=socket_dir / f"bench-{clients}.sock") as server:
        views = [RemoteStoreView(server.address).connect() for _ in range(clients)]
        try:
            publish = publisher.publish
            start = time.perf_counter()
            for _ in range(count):
                publish(PAYLOAD)
            return count / (time.perf_counter() - start)
        finally:
            for view in views:
                view.close()


# 2 -------------------------------------------------------------------------------------------


def latency(rate: int, seconds: float, socket_dir: Path) -> list[float]:
    """Per publish: the time until a sync that holds it reached the view's mirror."""
    store = MapObjectStore()
    publisher = create_widget_publisher("metric-data", "bench-service", store=store)
    sent: list[tuple[int, float]] = []
    arrived: list[tuple[int, float]] = []  # (newest seq in the mirror, when)

    def on_publish(event: StoreEvent) -> None:  # told after each sync is merged
        if event.update is not None:
            arrived.append((event.update.seq, time.perf_counter()))

    with DebugServer(store, path=socket_dir / "latency.sock") as server:
        view = RemoteStoreView(server.address).connect()
        view.subscribe(on_publish, kinds=("published",))
        try:
            interval = 1 / rate
            next_at = time.perf_counter()
            end = next_at + seconds
            while time.perf_counter() < end:
                now = time.perf_counter()
                sent.append((publisher.publish(PAYLOAD).seq, now))
                next_at += interval
                pause = next_at - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
            time.sleep(0.5)
        finally:
            view.close()
    delays = []
    index = 0
    for seq, at in sent:
        while index < len(arrived) and arrived[index][0] < seq:
            index += 1
        if index < len(arrived):
            delays.append(arrived[index][1] - at)
    return delays


# 3 -------------------------------------------------------------------------------------------

PANES = (  # key -> what only that bottom pane shows, for the attached demo
    ("l", "1. market-data-service (producer)"),
    ("d", "no findings"),
    ("f", "(no consumers)"),
    ("e", "published   "),
)


class Terminal:
    """``mapstore-tui attach`` in a tmux session, over ``serve-demo`` in another process."""

    def __init__(self, tmux: str, runtime: Path) -> None:
        exe = Path(sys.executable).parent / "mapstore-tui"
        self.tmux = tmux
        self.session = f"bench-frozen-{os.getpid()}"
        name = f"bench-{os.getpid()}"
        env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime)}
        self.app = subprocess.Popen(
            [str(exe), "serve-demo", "--seed", "1", "--name", name],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.app.stdout is not None
        self.app.stdout.readline()
        command = (
            f"env -u COLUMNS -u LINES XDG_RUNTIME_DIR={runtime} TERM=xterm-256color "
            f"COLORTERM=truecolor LANG=C.UTF-8 {exe} attach {name}"
        )
        subprocess.run(
            [tmux, "-u", "new-session", "-d", "-s", self.session, "-x", "120", "-y", "36", command],
            check=True,
        )

    def screen(self) -> str:
        return subprocess.run(
            [self.tmux, "-u", "capture-pane", "-p", "-t", self.session],
            capture_output=True,
            text=True,
        ).stdout

    def wait_for(self, text: str, limit: float = 30.0) -> float:
        """Seconds until ``text`` is on the screen (polled as fast as tmux answers)."""
        start = time.perf_counter()
        while text not in self.screen():
            if time.perf_counter() - start > limit:
                raise TimeoutError(f"{text!r} never showed")
        return time.perf_counter() - start

    def keys(self, rounds: int) -> list[float]:
        """Key -> the pane it shows on screen, for each key of ``rounds`` cycles of PANES."""
        took = []
        for _ in range(rounds):
            for key, shows in PANES:
                start = time.perf_counter()
                subprocess.run([self.tmux, "send-keys", "-t", self.session, key], check=True)
                self.wait_for(shows)
                took.append(time.perf_counter() - start)
                time.sleep(0.05)  # a person's pace, not a burst
        return took

    def close(self) -> None:
        subprocess.run([self.tmux, "kill-session", "-t", self.session], capture_output=True)
        if self.app.poll() is None:
            self.app.send_signal(signal.SIGCONT)
            self.app.terminate()
            self.app.wait(timeout=10)
        if self.app.stdout is not None:
            self.app.stdout.close()


def keys_in_tmux(rounds: int) -> tuple[list[float], list[float], float] | None:
    """(running, stopped) key -> screen seconds, and seconds until the notice showed."""
    tmux = shutil.which("tmux")
    if tmux is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        runtime = Path(tmp)
        os.chmod(runtime, 0o700)
        terminal = Terminal(tmux, runtime)
        try:
            terminal.wait_for("q Quit")
            terminal.wait_for(PANES[-1][1])  # the event log has a publish to show
            running = terminal.keys(rounds)
            os.kill(terminal.app.pid, signal.SIGSTOP)
            noticed = terminal.wait_for("the app is not responding")
            stopped = terminal.keys(rounds)
            os.kill(terminal.app.pid, signal.SIGCONT)
            start = time.perf_counter()
            while "not responding" in terminal.screen():  # the notice goes
                if time.perf_counter() - start > 30:
                    raise TimeoutError("the notice stayed after SIGCONT")
        finally:
            terminal.close()
    return running, stopped, noticed


# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run with tiny numbers")
    args = parser.parse_args(argv)
    rounds, count, seconds, key_rounds = (
        (1, 20_000, 1.0, 2) if args.quick else (7, 200_000, 10.0, 15)
    )
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        socket_dir = Path(tmp)
        os.chmod(socket_dir, 0o700)
        rates: dict[int, list[float]] = {0: [], 1: [], 5: []}
        for _ in range(rounds):
            for clients in rates:
                rates[clients].append(publish_rate(clients, count, socket_dir))
        delays = latency(1_000, seconds, socket_dir)
    none = statistics.median(rates[0])
    print("\n1. validated publishes/s in the app (median of rounds):")
    for clients, values in rates.items():
        rate = statistics.median(values)
        print(f"   {clients} attached: {rate:,.0f}/s ({rate / none:.2f}x of none)")
    one = statistics.median(rates[1]) / none
    p50, p95 = percentile(delays, 0.5) * 1000, percentile(delays, 0.95) * 1000
    print(
        f"\n2. publish -> the attached view's mirror at 1,000/s: p50 {p50:.1f} ms, "
        f"p95 {p95:.1f} ms, max {max(delays) * 1000:.1f} ms over {len(delays):,} publishes"
    )
    checks = [
        ("1 panel attached / none", one, ">= 0.8", one >= 0.8),
        ("publish -> mirror p95, ms", p95, "< 100", p95 < 100),
    ]
    keys = keys_in_tmux(key_rounds)
    if keys is None:
        print("\n3. key latency in tmux: skipped (tmux not installed)")
    else:
        running, stopped, noticed = keys
        print(
            "\n3. attached panel in tmux, key -> screen change "
            f"({len(stopped)} keys each):\n"
            f"   app running: p50 {percentile(running, 0.5) * 1000:.0f} ms, "
            f"p95 {percentile(running, 0.95) * 1000:.0f} ms\n"
            f"   app stopped (kill -STOP): p50 {percentile(stopped, 0.5) * 1000:.0f} ms, "
            f"p95 {percentile(stopped, 0.95) * 1000:.0f} ms, "
            f"max {max(stopped) * 1000:.0f} ms; the notice showed {noticed:.1f} s after the stop"
        )
        frozen = percentile(stopped, 0.95) * 1000
        checks.append(("frozen app key p95, ms", frozen, "< 250", frozen < 250))
    print("\ntargets:")
    for label, value, target, ok in checks:
        print(f"  {'PASS' if ok else 'MISS'}  {label:<28} {value:8.2f}  ({target})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
