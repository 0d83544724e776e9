"""The ``mapstore-tui`` command line."""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Sequence

from mapstore_core import MapObjectStore
from mapstore_tui import __version__
from mapstore_tui.demo import DemoSources


def _demo_store(seed: int | None, antipatterns: bool) -> tuple[MapObjectStore, DemoSources]:
    store = MapObjectStore()
    sources = DemoSources(store, seed=seed, antipatterns=antipatterns)
    sources.start()
    return store, sources


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mapstore-tui", description="MapStore debug panel: who publishes what, live."
    )
    parser.add_argument("--version", action="version", version=f"mapstore-tui {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = commands.add_parser(
        "demo", help="open the panel over simulated sources of every pattern"
    )
    demo.add_argument("--seed", type=int, default=None, help="make the demo reproducible")
    demo.add_argument(
        "--antipatterns", action="store_true", help="add sources that break the guide"
    )

    for name, what in (
        ("log-producers", "the Log Producers text"),
        ("snapshot", "a JSON snapshot"),
    ):
        sub = commands.add_parser(name, help=f"print {what} and exit")
        sub.add_argument("--demo", action="store_true", required=True, help="of the demo store")
        sub.add_argument("--seed", type=int, default=0)
        sub.add_argument("--antipatterns", action="store_true")
    return parser


def _safe_stdout() -> None:
    """Keep printing on a terminal that cannot show the Log Producers emoji."""
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        "📤".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        if isinstance(sys.stdout, io.TextIOWrapper):
            sys.stdout.reconfigure(errors="backslashreplace")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = _parser().parse_args(argv)
    _safe_stdout()
    if args.command == "demo":
        from mapstore_tui.demo_app import DemoApp

        app = DemoApp(seed=args.seed, antipatterns=args.antipatterns)
        try:
            app.run()
        finally:
            app.sources.stop()
        return app.return_code or 0
    store, sources = _demo_store(args.seed, args.antipatterns)
    try:
        if args.command == "log-producers":
            print(store.log_producers())
        else:
            json.dump(store.snapshot(), sys.stdout, indent=2)
            print()
    finally:
        sources.stop()
    return 0
