"""The ``mapstore-tui`` command line."""

from __future__ import annotations

import argparse
import io
import json
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

from mapstore_core import MapObjectStore, MapStoreError
from mapstore_tui import MapStoreApp, __version__
from mapstore_tui.demo import DemoSources
from mapstore_tui.remote_view import RemoteStoreView


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

    serve = commands.add_parser(
        "serve-demo", help="run the demo sources headless, behind a debug endpoint to attach to"
    )
    serve.add_argument("--socket", help="Unix socket path (default: in your runtime dir)")
    serve.add_argument("--port", type=int, help="serve TCP on 127.0.0.1:PORT instead")
    serve.add_argument("--seed", type=int, default=None, help="make the demo reproducible")
    serve.add_argument("--antipatterns", action="store_true", help="add bad sources")
    serve.add_argument(
        "--allow-dry-run", action="store_true", help="let panels validate payloads (no delivery)"
    )

    attach = commands.add_parser(
        "attach", help="open the panel over a store in another process (store.serve_debug())"
    )
    attach.add_argument("address", help="unix:PATH or tcp://HOST:PORT, as the app logged it")
    attach.add_argument("--token", help=_TOKEN_HELP)

    for name, what in (
        ("log-producers", "the Log Producers text"),
        ("snapshot", "a JSON snapshot"),
    ):
        sub = commands.add_parser(name, help=f"print {what} and exit")
        source = sub.add_mutually_exclusive_group(required=True)
        source.add_argument("--demo", action="store_true", help="of the demo store")
        source.add_argument("--attach", metavar="ADDRESS", help="of the store at ADDRESS")
        sub.add_argument("--token", help=_TOKEN_HELP)
        sub.add_argument("--seed", type=int, default=0, help="with --demo")
        sub.add_argument("--antipatterns", action="store_true", help="with --demo")
    return parser


_TOKEN_HELP = (
    "the endpoint's token (default: $MAPSTORE_DEBUG_TOKEN, else the file next to the socket)"
)


def _remote(address: str, token: str | None) -> RemoteStoreView | None:
    view = RemoteStoreView(address, token=token)
    try:
        return view.connect()
    except MapStoreError as exc:
        print(f"mapstore-tui: {exc}", file=sys.stderr)
        return None


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
    if args.command == "serve-demo":
        return _serve_demo(args)
    if args.command == "attach" or args.attach:
        view = _remote(args.address if args.command == "attach" else args.attach, args.token)
        if view is None:
            return 1
        try:
            if args.command == "attach":
                panel = MapStoreApp(view=view)
                panel.run()
                return panel.return_code or 0
            _print(args.command, view.log_producers, view.snapshot)
        finally:
            view.close()
        return 0
    store, sources = _demo_store(args.seed, args.antipatterns)
    try:
        _print(args.command, store.log_producers, store.snapshot)
    finally:
        sources.stop()
    return 0


def _print(
    command: str, log_producers: Callable[[], str], snapshot: Callable[[], dict[str, Any]]
) -> None:
    if command == "log-producers":
        print(log_producers())
    else:
        json.dump(snapshot(), sys.stdout, indent=2)
        print()


def _serve_demo(args: argparse.Namespace) -> int:
    """The demo sources in this process, served to panels elsewhere, until interrupted."""
    store = MapObjectStore()
    sources = DemoSources(store, seed=args.seed, antipatterns=args.antipatterns)
    sources.start()
    sources.run_threads()
    server = store.serve_debug(
        args.socket, port=args.port, allow_dry_run=args.allow_dry_run, announce=False
    )
    print(f"mapstore debug endpoint: {server.address}", flush=True)
    print(f"attach with: mapstore-tui attach {server.address}", flush=True)
    if server.token_path is None:
        print(f"token: {server.token}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        sources.stop()
    return 0
