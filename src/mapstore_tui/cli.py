"""The ``mapstore-tui`` command line."""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from collections.abc import Sequence

from mapstore_core import MapObjectStore, StoreEvent
from mapstore_tui import __version__
from mapstore_tui.demo import DemoSources


def _demo_store(seed: int | None, antipatterns: bool) -> tuple[MapObjectStore, DemoSources]:
    store = MapObjectStore()
    sources = DemoSources(store, seed=seed, antipatterns=antipatterns)
    sources.start()
    return store, sources


def _print_event(event: StoreEvent) -> None:
    if event.kind == "published":
        return  # too many to print; the summary counts them
    subject = event.producer_id or event.consumer_id or ""
    detail = (event.message or "").splitlines()[0] if event.message else ""
    print(f"  {event.kind:<20} {event.channel or '':<20} {subject:<28} {detail}")


def _run_text_demo(seconds: float, seed: int | None, antipatterns: bool) -> int:
    store = MapObjectStore()
    unsubscribe = store.subscribe_events(_print_event)
    sources = DemoSources(store, seed=seed, antipatterns=antipatterns)
    print("Registering the demo sources (events as they happen):")
    sources.start()
    sources.run_threads()
    try:
        sources.form.submit("A note from the form", "Typed by the user, validated, published.")
        sources.summaries.submit()
        time.sleep(seconds)
        print("\n" + store.log_producers())
        print("\nChannels:")
        for channel in store.channels():
            print(
                f"  {channel.name:<20} producers={channel.producer_count} "
                f"consumers={channel.consumer_count} publishes={channel.publish_count}"
            )
        print("\nDoctor:")
        found = store.diagnostics()
        for diagnostic in found:
            print(f"  [{diagnostic.rule}] {diagnostic.producer_id} at {diagnostic.where}")
            print(f"      {diagnostic.message}")
        if not found:
            print("  no findings (try --antipatterns)")
    except KeyboardInterrupt:
        pass
    finally:
        sources.stop()
        unsubscribe()
    print("\nSources closed on exit:")
    print(store.log_producers())
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mapstore-tui", description="MapStore debug panel: who publishes what, live."
    )
    parser.add_argument("--version", action="version", version=f"mapstore-tui {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = commands.add_parser("demo", help="run the simulated sources of every pattern")
    demo.add_argument("--seed", type=int, default=None, help="make the demo reproducible")
    demo.add_argument(
        "--antipatterns", action="store_true", help="add sources that break the guide"
    )
    demo.add_argument(
        "--seconds", type=float, default=3.0, help="how long the sources run (default 3)"
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
        return _run_text_demo(args.seconds, args.seed, args.antipatterns)
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
