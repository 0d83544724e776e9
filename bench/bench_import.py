"""What importing mapstore_core costs a user's app, against pydantic alone.

Run:  .venv/bin/python bench/bench_import.py [--rounds 20]

Each case runs in a fresh interpreter (``python -c CODE``), in interleaved rounds so that every
round's cases see the same load. The wall time of the whole process is measured (interpreter
start included: that is what a user waits for), and, inside the process, the time the code
itself took (``perf_counter`` around ``exec``). Printed: min and median of each, and the ratio
of the user's first import to the pydantic baseline: of the minima (the target's figure), of
the medians, and the median of the per-round ratios (each round's pair saw the same load; on a
shared machine the minima can come from different moments).

- user's import: what an app does first, ``from mapstore_core import MapObjectStore, map_store,
  create_widget_publisher, WidgetChannels`` (the default store and the widget channels' models
  are built on the way);
- pydantic baseline: ``from pydantic import BaseModel, Field`` and three small models, about the
  least a pydantic-only library can cost;
- for scale: a bare interpreter, a bare ``import mapstore_core`` (loads nothing yet), and
  ``mapstore_lint`` checking one file (no pydantic at all).

Target: the user's import costs at most 1.3x the baseline (min of the rounds, wall time).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET = 1.3

BASELINE = '''
from pydantic import BaseModel, Field


class Headline(BaseModel):
    """A title and its text."""

    title: str = Field(description="The heading.")
    content: str = Field(description="The body.")
    markdown: bool = False


class Grid(BaseModel):
    """A small table."""

    title: str
    headers: list[str]
    rows: list[list[str | int | float | None]]


class Gauge(BaseModel):
    """One number and how it moved."""

    label: str
    value: float | int | str
    change: float | None = None
'''

CASES: dict[str, str] = {
    "bare interpreter": "pass",
    "pydantic + 3 models (baseline)": BASELINE,
    "import mapstore_core": "import mapstore_core",
    "user's first import": (
        "from mapstore_core import MapObjectStore, map_store, create_widget_publisher, "
        "WidgetChannels"
    ),
    "mapstore_lint on one file": (
        "import mapstore_lint; mapstore_lint.main(['--quiet', {path!r}])"
    ),
}
USER, BASE = "user's first import", "pydantic + 3 models (baseline)"

# The child times its own code (the interpreter's start is the difference to the wall time).
WRAPPER = (
    "import time; _t = time.perf_counter(); exec(compile({code!r}, '<bench>', 'exec'), {{}}); "
    "print(time.perf_counter() - _t)"
)


# Bytecode is cached as for an installed package (pip compiles site-packages at install):
# without this, an editable checkout under PYTHONDONTWRITEBYTECODE=1 compiles mapstore's
# modules in every run while pydantic's come precompiled.
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def run_once(code: str, src: str | None = None) -> tuple[float, float]:
    """(wall seconds of the whole process, seconds the code took inside it).

    ``src``: a ``src`` directory (another checkout) to import mapstore from instead.
    """
    env = ENV if src is None else {**ENV, "PYTHONPATH": src}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER.format(code=code)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    wall = time.perf_counter() - start
    if done.returncode not in (0, 1):  # mapstore_lint.main returns 1 on findings, not raised
        raise SystemExit(f"failed: {code}\n{done.stderr}")
    return wall, float(done.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument(
        "--before",
        metavar="SRC",
        help="also time the user's first import from another checkout's src/ (same rounds)",
    )
    args = parser.parse_args()
    root = Path(__file__).resolve().parent.parent
    sample = str(root / "src" / "mapstore_tui" / "demo" / "antipatterns.py")
    codes = {name: code.replace("{path!r}", repr(sample)) for name, code in CASES.items()}
    runs: dict[str, tuple[str, str | None]] = {name: (code, None) for name, code in codes.items()}
    if args.before:
        runs[f"{USER}, --before"] = (codes[USER], args.before)
    for code, src in runs.values():  # warm the bytecode caches and the file system
        run_once(code, src)
    walls: dict[str, list[float]] = {name: [] for name in runs}
    inner: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, (code, src) in runs.items():
            wall, took = run_once(code, src)
            walls[name].append(wall)
            inner[name].append(took)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"CPython {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {load:.1f}; "
        f"{args.rounds} interleaved rounds, each case in a fresh interpreter"
    )
    print(f"{'case':<38} {'wall min':>9} {'median':>8} {'code min':>9} {'median':>8}")
    for name in runs:
        figures = (
            min(walls[name]),
            statistics.median(walls[name]),
            min(inner[name]),
            statistics.median(inner[name]),
        )
        ms = [f * 1000 for f in figures]
        print(f"{name:<38} {ms[0]:>7.1f}ms {ms[1]:>6.1f}ms {ms[2]:>7.1f}ms {ms[3]:>6.1f}ms")
    ratio_min = min(walls[USER]) / min(walls[BASE])
    ratio_median = statistics.median(walls[USER]) / statistics.median(walls[BASE])
    paired = statistics.median(u / b for u, b in zip(walls[USER], walls[BASE], strict=True))
    print(
        f"\nuser's first import / pydantic baseline, wall time: {ratio_min:.2f}x (min), "
        f"{ratio_median:.2f}x (median), {paired:.2f}x (median of the paired rounds); "
        f"code alone: {min(inner[USER]) / min(inner[BASE]):.2f}x (min)"
    )
    if args.before:
        before = walls[f"{USER}, --before"]
        print(
            f"--before / pydantic baseline: {min(before) / min(walls[BASE]):.2f}x (min), "
            f"{statistics.median(b / p for b, p in zip(before, walls[BASE], strict=True)):.2f}x "
            "(median of the paired rounds)"
        )
    verdict = "PASS" if ratio_min <= TARGET else "MISS"
    print(f"target: at most {TARGET}x (min, wall time): {verdict}")


if __name__ == "__main__":
    main()
