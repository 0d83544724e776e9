"""mapstore-lint benchmark: the linter against ``ast.parse`` alone, and ruff for scale.

Run:  .venv/bin/python bench/bench_lint.py [--files 10000] [--rounds 3]

Generates a tree of Python files (seeded; about half of them use mapstore — services,
widgets, loops, a few anti-patterns — the rest are ordinary modules), then in interleaved
rounds times, over the same files:

- floor: read each file and ``ast.parse`` it (the file list given, no walking);
- mapstore-lint: ``lint_paths`` on the tree (walk, read, parse, every rule, noqa);
- ``ruff check`` on the tree (its default rules, no cache; ruff is multi-threaded Rust).

It prints the median of each, its ratio to the floor, and the median of the per-round
lint/floor ratios (the figure the target is checked on: each round's pair saw the same
load); the same for a tree where every file uses mapstore (the worst case); and how long
the project's own ``src/`` takes, in process and as a command.
Targets (issue #11): lint ≤ 1.5x the floor; ``src/`` < 0.5 s.
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from mapstore_lint import iter_python_files, lint_paths

ROOT = Path(__file__).resolve().parent.parent

SERVICE = '''
class {name}Service:
    """Fetches {name} data and publishes it."""

    PRODUCER_ID = "{slug}-service"

    def __init__(self, store, rng):
        self._rng = rng
        self.publisher = create_widget_publisher(
            WidgetChannels.{channel}, self.PRODUCER_ID, store=store
        )

    def refresh(self):
        rows = [[symbol, self._rng.random()] for symbol in ("A", "B", "C")]
        self.publisher.publish({{"title": "{name}", "headers": ["k", "v"], "rows": rows}})

    def close(self):
        self.publisher.close()
'''

WIDGET = """
@consumer_only
class {name}Widget:
    def __init__(self, store):
        self.consumer = create_widget_consumer("metric-data", "{slug}-widget", store=store)

    def render(self):
        value = self.consumer.value
        return f"{{value!r}}"
"""

BAD = """
def {slug_}_poll(store, frames):
    for frame in range(frames):
        store.register_producer("{slug}-status", "producer{n}").close()
    orphan = store.register_producer("{slug}-session", "{slug}-session-feed")
    orphan.publish(frames)
"""

PLAIN = '''
def {slug_}_{n}(values, threshold={n}):
    """Summarise values above a threshold."""
    kept = [v for v in values if v > threshold]
    total = 0
    for index, value in enumerate(kept):
        if index % 2:
            total += value * {n}
        else:
            total -= value
    return {{"count": len(kept), "total": total, "name": "{slug}"}}


class {name}Record:
    def __init__(self, key, value):
        self.key = key
        self.value = value

    def __repr__(self):
        return f"{name}Record({{self.key!r}}, {{self.value!r}})"

    def merged(self, other):
        return {name}Record(self.key, {{**self.value, **other.value}})
'''

HEADER_MAPSTORE = (
    "from mapstore_core import WidgetChannels, consumer_only, create_widget_consumer\n"
    "from mapstore_core import create_widget_publisher\n"
)
HEADER_PLAIN = "import json\nimport os\n"
WORDS = ("market", "orders", "users", "latency", "billing", "search", "alerts", "stock")
CHANNELS = ("TABLE_DATA", "METRIC_DATA", "PARAGRAPH_CONTENT")


def generate(root: Path, files: int, mapstore_share: float, seed: int = 11) -> None:
    rng = random.Random(seed)
    for index in range(files):
        word = rng.choice(WORDS)
        fields = {
            "name": word.title() + str(index),
            "slug": f"{word}-{index}",
            "slug_": f"{word}_{index}",
            "n": index,
            "channel": rng.choice(CHANNELS),
        }
        parts = [PLAIN.format(**fields) for _ in range(rng.randint(1, 3))]
        if rng.random() < mapstore_share:
            header = HEADER_MAPSTORE
            parts.insert(0, SERVICE.format(**fields))
            if index % 3 == 0:
                parts.append(WIDGET.format(**fields))
            if index % 10 == 0:
                parts.append(BAD.format(**fields))
        else:
            header = HEADER_PLAIN
        path = root / f"pkg{index % 50:02d}" / f"module_{index}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f'"""Generated module {index}."""\n\n{header}' + "".join(parts))


def floor(paths: list[str]) -> Callable[[], None]:
    def run() -> None:
        for path in paths:
            with open(path, "rb") as file:
                ast.parse(file.read(), filename=path)

    return run


def linter(root: Path) -> Callable[[], None]:
    def run() -> None:
        lint_paths([str(root)])

    return run


def ruff(root: Path) -> Callable[[], None] | None:
    exe = shutil.which("ruff", path=os.path.dirname(sys.executable)) or shutil.which("ruff")
    if exe is None:
        return None

    def run() -> None:
        subprocess.run(
            [exe, "check", "--no-cache", "--isolated", "--exit-zero", "--quiet", str(root)],
            check=True,
            stdout=subprocess.DEVNULL,
        )

    return run


def timed(cases: dict[str, Callable[[], None]], rounds: int) -> dict[str, list[float]]:
    """Each case once per round, the order rotated every round so drift hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    names = list(cases)
    for index in range(rounds):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            cases[name]()
            times[name].append(time.perf_counter() - start)
    return times


def chunked_ratio(paths: list[str], rounds: int, chunk: int = 200) -> tuple[float, float, float]:
    """lint/floor measured chunk by chunk, back to back, the order swapped every chunk.

    A shared machine's load changes over seconds; pairing every 200 files puts the floor and
    the linter under the same load, so the ratio is steady where whole-tree runs are not.
    Returns (median ratio over rounds, floor seconds, lint seconds) of the median round.
    """
    per_round: list[tuple[float, float, float]] = []
    for _ in range(rounds):
        floor_total = lint_total = 0.0
        for index in range(0, len(paths), chunk):
            part = paths[index : index + chunk]
            pair = [("floor", floor(part)), ("lint", lambda part=part: lint_paths(part))]
            if (index // chunk) % 2:
                pair.reverse()
            for name, case in pair:
                start = time.perf_counter()
                case()
                spent = time.perf_counter() - start
                if name == "floor":
                    floor_total += spent
                else:
                    lint_total += spent
        per_round.append((lint_total / floor_total, floor_total, lint_total))
    per_round.sort()
    return per_round[len(per_round) // 2]


def tree_table(root: Path, files: int, share: float, rounds: int) -> float:
    generate(root, files, share)
    paths = list(iter_python_files([str(root)]))
    findings, count = lint_paths([str(root)])
    cases: dict[str, Callable[[], None]] = {
        "floor: read + ast.parse": floor(paths),
        "mapstore-lint": linter(root),
    }
    ruff_case = ruff(root)
    if ruff_case is not None:
        cases["ruff check (default rules)"] = ruff_case
    times = timed(cases, rounds)
    medians = {name: statistics.median(values) for name, values in times.items()}
    base = medians["floor: read + ast.parse"]
    paired = statistics.median(
        lint / floor
        for lint, floor in zip(
            times["mapstore-lint"], times["floor: read + ast.parse"], strict=True
        )
    )
    lines = sum(p.read_bytes().count(b"\n") for p in root.rglob("*.py"))
    print(
        f"\n{count:,} files, {lines:,} lines, {share:.0%} using mapstore; "
        f"{len(findings):,} findings; median of {rounds} rounds"
    )
    print(f"{'case':<30} {'median':>9} {'x floor':>8}")
    for name, value in medians.items():
        print(f"{name:<30} {value:>8.2f}s {value / base:>7.2f}x")
    print(f"mapstore-lint / floor, median of the {rounds} paired rounds: {paired:.2f}x")
    ratio, floor_s, lint_s = chunked_ratio(paths, rounds)
    print(
        f"paired per 200 files (the target's figure): floor {floor_s:.2f}s, "
        f"lint {lint_s:.2f}s, {ratio:.2f}x (median of {rounds} rounds)"
    )
    return ratio


def project_src() -> tuple[float, float]:
    src = str(ROOT / "src")
    start = time.perf_counter()
    lint_paths([src])
    in_process = time.perf_counter() - start
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "mapstore_lint", "--quiet", src],
            stdout=subprocess.DEVNULL,
            check=False,
        )
        runs.append(time.perf_counter() - start)
    return in_process, statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"CPython {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="mapstore-lint-bench-") as tmp:
        mixed = tree_table(Path(tmp) / "mixed", args.files, 0.5, args.rounds)
        worst = tree_table(Path(tmp) / "all", args.files, 1.0, args.rounds)
    in_process, command = project_src()
    print(
        f"\nproject src/: {in_process * 1000:.0f} ms in process; "
        f"`python -m mapstore_lint src` {command * 1000:.0f} ms (median of 5, "
        "interpreter start and imports included)"
    )
    print("\ntargets (issue #11):")
    print(f"  lint ≤ 1.5x ast.parse, mixed tree: {mixed:.2f}x {'PASS' if mixed <= 1.5 else 'MISS'}")
    print(
        f"  lint ≤ 1.5x ast.parse, every file uses mapstore: {worst:.2f}x "
        f"{'PASS' if worst <= 1.5 else 'MISS'}"
    )
    print(f"  src/ < 0.5 s as a command: {'PASS' if command < 0.5 else 'MISS'}")


if __name__ == "__main__":
    main()
