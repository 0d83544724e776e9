"""The ``mapstore-tui`` command line."""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from mapstore_core import (
    DebugEndpoint,
    MapObjectStore,
    MapStoreError,
    StoreLink,
    list_debug_endpoints,
)
from mapstore_tui import MapStoreApp, __version__
from mapstore_tui._stopping import Stopped, held, run_panel, stop_raises, wait_until_stopped
from mapstore_tui.remote_view import RemoteStoreView

if TYPE_CHECKING:
    from mapstore_tui.demo import DemoSources


def _demo_store(seed: int | None, antipatterns: bool) -> tuple[MapObjectStore, DemoSources]:
    from mapstore_tui.demo import DemoSources  # the demo loads only for the demo's commands

    store = MapObjectStore()
    sources = DemoSources(store, seed=seed, antipatterns=antipatterns)
    sources.start()
    return store, sources


class _UsageError(Exception):
    """A user error: one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """Every usage error is one line on stderr and exit status 2 (no usage dump)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands: list[str] = []
        """The subcommands' names, for the line that says one is missing."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(2)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a port is a number, not {text!r}") from None
    if not 0 <= port <= 65_535:
        raise argparse.ArgumentTypeError(f"port {port} is out of range (0-65535)")
    return port


def _parser() -> _Parser:
    parser = _Parser(
        prog="mapstore-tui", description="MapStore debug panel: who publishes what, live."
    )
    parser.add_argument("--version", action="version", version=f"mapstore-tui {__version__}")
    # Not required here: ``main`` says a command is missing only after naming any option it
    # does not know (argparse said "required: COMMAND" of `mapstore-tui --bogus`).
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

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
    serve.add_argument(
        "--name", help="the endpoint's name (default: the program's); see `mapstore-tui ls`"
    )
    serve.add_argument(
        "--socket", help="a Unix socket path of your own (its directory must exist, mode 700)"
    )
    serve.add_argument("--port", type=_port, help="serve TCP on 127.0.0.1:PORT instead")
    serve.add_argument("--seed", type=int, default=None, help="make the demo reproducible")
    serve.add_argument("--antipatterns", action="store_true", help="add bad sources")
    serve.add_argument(
        "--allow-dry-run", action="store_true", help="let panels validate payloads (no delivery)"
    )

    attach = commands.add_parser(
        "attach", help="open the panel over a store in another process (store.serve_debug())"
    )
    attach.add_argument(
        "address",
        nargs="?",
        help="a name from `mapstore-tui ls`, a socket path, or HOST:PORT (default: the only "
        "live endpoint, or a choice); or redis://HOST:PORT/DB to watch a linked fleet",
    )
    _token_options(attach)
    _namespace_option(attach)

    fleet = commands.add_parser(
        "fleet-demo",
        help="start a private Redis and worker processes, then open the fleet panel",
    )
    fleet.add_argument(
        "--workers", type=int, default=4, help="worker processes (web, web, services, jobs, …)"
    )
    fleet.add_argument(
        "--antipatterns",
        action="store_true",
        help="add a second polling copy and a worker on an older schema",
    )

    commands.add_parser(
        "ls", help="list the live debug endpoints (name, pid, program, started, address)"
    )
    _record_parser(commands)

    replay = commands.add_parser(
        "replay", help="open the panel over a recording (store.record, R in the panel)"
    )
    replay.add_argument("file", help="the recording (.jsonl or .jsonl.gz)")

    _web_parser(commands)

    for name, what in (
        ("log-producers", "the Log Producers text"),
        ("snapshot", "a JSON snapshot"),
    ):
        sub = commands.add_parser(name, help=f"print {what} and exit")
        source = sub.add_mutually_exclusive_group(required=True)
        source.add_argument("--demo", action="store_true", help="of the demo store")
        source.add_argument(
            "--attach", metavar="ADDRESS", help="of the store at ADDRESS (or a redis:// fleet)"
        )
        _token_options(sub)
        _namespace_option(sub)
        sub.add_argument("--seed", type=int, default=0, help="with --demo")
        sub.add_argument("--antipatterns", action="store_true", help="with --demo")
    parser.commands = list(commands.choices)
    return parser


def _record_parser(commands: Any) -> None:
    record = commands.add_parser(
        "record",
        help="record an attached app, or a whole Redis namespace, into a file until stopped",
    )
    record.add_argument(
        "address",
        nargs="?",
        help="as `attach` takes it: a name from `mapstore-tui ls`, a socket path or HOST:PORT "
        "(default: the only live endpoint, or a choice); or redis://HOST:PORT/DB with "
        "--namespace to record every linked process",
    )
    record.add_argument(
        "-o", "--output", required=True, metavar="FILE", help="the recording (gzip if .gz)"
    )
    record.add_argument(
        "--seconds", type=_seconds, help="stop after this long (default: at Ctrl+C or SIGTERM)"
    )
    _token_options(record)
    _namespace_option(record)


WEB_PANELS = ("demo", "attach", "replay")
"""The panels ``mapstore-tui web`` serves."""
WEB_OPTIONS = ("--host", "--port", "--public-url")
"""``web``'s own options, which no panel takes."""


def _web_parser(commands: Any) -> None:
    web = commands.add_parser(
        "web",
        help="serve the panel to a browser (127.0.0.1, a token in the one URL printed)",
        description="Serve a panel (demo, the default; attach ...; replay FILE) to a browser. "
        "Options of web go before the panel's command.",
    )
    web.add_argument(
        "--host",
        default="127.0.0.1",
        help="where to listen (default 127.0.0.1; anything else shows the app's data to "
        "whoever holds the link: prefer an SSH tunnel)",
    )
    web.add_argument("--port", type=_port, default=8000, help="0 picks a free one")
    web.add_argument(
        "--public-url",
        metavar="URL",
        help="the address browsers use, behind a proxy (its host name is then accepted)",
    )
    web.add_argument(
        "panel",
        nargs=argparse.REMAINDER,
        metavar="SUBCOMMAND ARGS",
        help="demo [--seed N] [--antipatterns], attach [ADDRESS] [--namespace NS], "
        "replay FILE (default: demo)",
    )


def _web(args: argparse.Namespace) -> int:
    """`web`: check the panel's arguments here, then serve it until stopped.

    Without the ``web`` extra, ``_entry`` has said so in one line before this runs.
    """
    from mapstore_tui.web import is_loopback, serve_panel

    panel = _web_panel(list(args.panel) or ["demo"])
    if args.public_url is not None:
        _check_public_url(args.public_url)
    if not is_loopback(args.host):
        print(
            f"mapstore-tui web: warning: listening on {_printable(args.host)}, not only on this "
            "machine: whoever holds the link sees the app's data and drives the panel "
            "(an SSH tunnel keeps it on 127.0.0.1: ssh -L)",
            file=sys.stderr,
            flush=True,
        )

    def announce(url: str) -> None:
        print(
            "mapstore-tui web: open this URL in a browser; Ctrl+C stops the server and its panels",
            file=sys.stderr,
            flush=True,
        )
        print(url, flush=True)

    try:
        return serve_panel(
            panel,
            host=args.host,
            port=args.port,
            public_url=args.public_url,
            title=f"MapStore debug panel · {panel[0]}",
            announce=announce,
        )
    except OSError as exc:
        where = f"{args.host}:{args.port}"
        raise _UsageError(f"web: cannot listen on {where}: {exc.strerror or exc}") from exc


def _check_public_url(url: str) -> None:
    """Accept ``http(s)://host[:port][/]`` only.

    A path prefix, query, fragment or user:password would give a printed URL that cannot
    work (a token in a fragment is never sent).
    """
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise _UsageError(f"web: --public-url {url!r}: {exc}") from None
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username is not None
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        raise _UsageError(
            f"web: --public-url must be http(s)://HOST[:PORT] (no path, query, fragment or "
            f"user), not {url!r}"
        )


def _web_panel(panel: list[str]) -> list[str]:
    """The panel command's arguments, checked as the command itself would, up front.

    A typo is one line here rather than a dead tab in the browser: the arguments are parsed
    by the command's own parser, a recording is opened, an endpoint or Redis is reached once.
    An ``attach`` without an address gets the endpoint picked now (a choice needs this tty).
    """
    if panel[0] not in WEB_PANELS:
        raise _UsageError(
            f"web serves {', '.join(WEB_PANELS[:-1])} or {WEB_PANELS[-1]}, not "
            f"{panel[0]!r} (web's own options go before the panel's command)"
        )
    for arg in panel[1:]:
        own = arg.partition("=")[0]
        if own in WEB_OPTIONS:
            raise _UsageError(
                f"{own} is web's own option: put it before the panel's command "
                f"(mapstore-tui web {own} ... {panel[0]} ...)"
            )
    args = _parser().parse_args(panel)
    if args.command == "replay":
        from mapstore_core import open_recording

        try:
            open_recording(args.file)
        except (MapStoreError, OSError) as exc:
            raise _UsageError(str(exc)) from exc
    elif args.command == "attach" and _is_redis(args.address):
        _check_scheme(args.address)
        _store, link = _observe(args.address, args.namespace)
        try:
            if not link.wait_ready(timeout=_READY_TIMEOUT):
                raise _not_ready(link, args.namespace)
        finally:
            link.close()
    elif args.command == "attach":
        address = args.address
        if address is None:
            address = _pick_endpoint().address
            panel = ["attach", address, *panel[1:]]
        _remote(address, args).close()
    return panel


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a duration is a number, not {text!r}") from None
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"a duration must be more than 0, not {text}")
    return seconds


def _record(args: argparse.Namespace) -> int:
    """`record`: until stopped, then one summary line; 1 if writing the file failed."""
    from mapstore_tui import recorder

    def say(text: str) -> None:  # another process's words: never raw escapes
        print(f"mapstore-tui record: {_printable(text)}", file=sys.stderr, flush=True)

    redis = _is_redis(args.address)
    if redis:
        _need_redis("record")
    if args.address is not None:
        _check_scheme(args.address)
    try:
        stats = recorder.record(
            args.address if args.address or redis else _pick_endpoint().address,
            args.output,
            namespace=args.namespace if redis else None,
            seconds=args.seconds,
            say=say,
            ready_timeout=_READY_TIMEOUT,
            token=args.token,
            token_file=args.token_file,
            env_token=args.address is not None,
        )
    except recorder.CannotRecord as exc:
        raise _UsageError(str(exc)) from exc
    print(_printable(recorder.summary(stats)))
    if stats["error"]:
        say(f"the recording stopped early: {stats['error']}")
        return 1
    return 0


def _namespace_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--namespace",
        default="mapstore",
        help="with a redis:// address: the namespace the fleet linked to (default: mapstore)",
    )


_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
_LINK_LOG = logging.NullHandler()
_READY_TIMEOUT = 5.0  # seconds to read a namespace once before saying Redis is not there


def _is_redis(address: str | None) -> bool:
    return address is not None and address.startswith(_REDIS_SCHEMES)


def _need_redis(command: str) -> None:
    """Say which extra a Redis address needs, naming the command the person typed.

    The link's own message names ``store.link()``, which they never called.
    """
    try:
        import redis  # noqa: F401
    except ImportError:
        raise _UsageError(
            f"{command} with a redis:// address needs the redis extra: "
            "pip install 'mapstore[redis]'"
        ) from None


def _observe(url: str, namespace: str) -> tuple[MapObjectStore, StoreLink]:
    """A store linked as a read-only observer of ``namespace``; user errors raise."""
    # With no logging set up, Python prints the link's warnings bare on stderr ("Redis
    # unreachable …; retrying"), contradicting the one line this command ends with. A
    # handler here keeps them from that last resort; handlers an app sets up still get them.
    logging.getLogger("mapstore_core.link").addHandler(_LINK_LOG)
    store = MapObjectStore()
    try:
        link = store.link(url, namespace=namespace, observer=True)
    except MapStoreError as exc:
        raise _UsageError(str(exc)) from exc
    return store, link


def _run_fleet(args: argparse.Namespace, url: str) -> int:
    """The panel (or a headless print) over a linked fleet, as an observer."""
    _need_redis(args.command)
    store, link = _observe(url, args.namespace)
    try:
        if not link.wait_ready(timeout=_READY_TIMEOUT):
            raise _not_ready(link, args.namespace)
        if args.command == "attach":
            panel = MapStoreApp(store=store)
            panel.sub_title = f"fleet {args.namespace!r} · {link.url_redacted}"
            return _panel(panel, "attach")
        _print(args.command, store.log_producers, store.snapshot)
        _say_if_nobody_linked(link)
        return 0
    finally:
        link.close()


def _not_ready(link: StoreLink, namespace: str) -> _UsageError:
    return _UsageError(
        f"cannot read namespace {namespace!r} at {link.url_redacted} "
        f"(link {link.status}): is Redis running there?"
    )


def _say_if_nobody_linked(link: StoreLink) -> None:
    """On stderr: a namespace with no live process prints as an empty store (a typo?)."""
    from mapstore_tui.fleet_hint import nobody_linked

    message = nobody_linked(link)
    if message is not None:
        print(_printable(f"mapstore-tui: {message}"), file=sys.stderr)


def _fleet_demo(args: argparse.Namespace) -> int:
    """The fleet panel over a private Redis and workers; all of it goes, however it ends.

    ``q`` and stop signals clean up here; if this process is killed outright, its children
    end by themselves (``_lifeline``) and the next fleet-demo removes the directory.
    """
    from mapstore_tui.fleet_demo import DemoFleet, FleetDemoError
    from mapstore_tui.fleet_view import FleetDemoApp

    if args.workers < 1:
        raise _UsageError(f"--workers must be at least 1, not {args.workers}")
    try:
        fleet = DemoFleet(workers=args.workers, antipatterns=args.antipatterns)
    except FleetDemoError as exc:
        raise _UsageError(str(exc)) from exc
    try:
        _need_a_terminal("fleet-demo")  # before a worker starts
    except _UsageError:
        fleet.close()  # its directory, made already
        raise
    try:
        fleet.start()
        app = FleetDemoApp(fleet)
        try:
            return run_panel(app)
        finally:
            app.close_link()
    except FleetDemoError as exc:
        raise _UsageError(str(exc)) from exc
    finally:
        with held():
            fleet.close()


def _replay(args: argparse.Namespace) -> int:
    """The panel over a recording; a file that is not one is a user error."""
    from mapstore_tui.replay_app import ReplayApp  # the replay loads only for its command

    try:
        app = ReplayApp(args.file)
    except MapStoreError as exc:  # not a recording, a newer version, unreadable
        raise _UsageError(str(exc)) from exc
    return _panel(app, "replay")


def _token_options(parser: argparse.ArgumentParser) -> None:
    tokens = parser.add_mutually_exclusive_group()
    tokens.add_argument(
        "--token",
        help="the endpoint's token (default: the file next to the socket, else "
        "$MAPSTORE_DEBUG_TOKEN for an address you name)",
    )
    tokens.add_argument(
        "--token-file", metavar="PATH", help="read the token from PATH (yours, mode 600)"
    )


def _remote(address: str | None, args: argparse.Namespace) -> RemoteStoreView:
    """Connect to the endpoint at ``address`` (or the one to pick); user errors raise."""
    named = address is not None
    if address is None:
        address = _pick_endpoint().address
    _check_scheme(address)
    try:
        view = RemoteStoreView(
            address, token=args.token, token_file=args.token_file, env_token=named
        )
        return view.connect()
    except MapStoreError as exc:
        raise _UsageError(str(exc)) from exc


def _check_scheme(address: str) -> None:
    """A ``scheme://`` address neither a debug endpoint's nor Redis's is a user error.

    Else it is read as a socket path, and ``http://x`` was "cannot reach unix:http://x".
    """
    scheme, sep, _ = address.partition("://")
    if sep and scheme != "tcp" and "/" not in scheme and not _is_redis(address):
        raise _UsageError(
            f"{scheme}:// is not an address mapstore-tui takes ({address}): give a name from "
            "`mapstore-tui ls`, a socket path or unix:PATH, HOST:PORT or tcp://HOST:PORT "
            "(a debug endpoint), or redis://, rediss:// or unix:// (a linked fleet)"
        )


def _pick_endpoint() -> DebugEndpoint:
    """The only live endpoint, or the user's choice among several."""
    live = list_debug_endpoints()
    if not live:
        raise _UsageError(
            "no live debug endpoint (an app calls store.serve_debug()); see `mapstore-tui ls`"
        )
    if len(live) == 1:
        return live[0]
    names = ", ".join(endpoint.name for endpoint in live)
    if not sys.stdin.isatty():
        raise _UsageError(f"several debug endpoints are live ({names}); name one to attach")
    _print_endpoints(live, numbered=True)
    while True:
        try:
            answer = input(f"attach to which (1-{len(live)}, or a name)? ").strip()
        except EOFError:
            raise _UsageError(f"no endpoint chosen among {names}") from None
        for number, endpoint in enumerate(live, 1):
            if answer in (str(number), endpoint.name):
                return endpoint
        choices = f"a number from 1 to {len(live)} or a name ({names})"
        print(f"{answer!r} is not {choices}" if answer else f"type {choices}", file=sys.stderr)


def _print_endpoints(endpoints: list[DebugEndpoint], *, numbered: bool = False) -> None:
    rows: list[tuple[str, ...]] = [("NAME", "PID", "PROGRAM", "STARTED", "ADDRESS")]
    rows += [
        tuple(
            _printable(cell)
            for cell in (e.name, str(e.pid or "?"), _shorten(e.program, 40), e.started, e.address)
        )
        for e in endpoints
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    for index, row in enumerate(rows):
        prefix = ("    " if index == 0 else f"{index:>2}. ") if numbered else ""
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print(prefix + "  ".join([*cells, row[4]]))


def _printable(text: str) -> str:
    """``text`` with control characters escaped: a command line never drives the terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _shorten(text: str, width: int) -> str:
    """The command's first word and its tail (where the script's name is)."""
    if len(text) <= width:
        return text
    head = text.split(" ", 1)[0][: width // 3]
    return f"{head} …{text[-(width - len(head) - 2) :]}"


def _safe_stdout() -> None:
    """Keep printing on a terminal that cannot show the Log Producers emoji."""
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        "📤".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        if isinstance(sys.stdout, io.TextIOWrapper):
            sys.stdout.reconfigure(errors="backslashreplace")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (2: a user error, said in one line)."""
    parser = _parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)} (see --help)")
    if args.command is None:
        parser.error(f"a COMMAND is missing: {', '.join(parser.commands)} (see --help)")
    _safe_stdout()
    try:
        with stop_raises():  # SIGTERM and SIGHUP unwind through every `finally`, as Ctrl+C
            code = _run(args)
        sys.stdout.flush()  # here, not at exit: a closed pipe is then ours to handle
        return code
    except BrokenPipeError:  # `mapstore-tui snapshot --demo | head`: the reader has enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 141  # as a shell reports a command ended by SIGPIPE
    except _UsageError as exc:  # may quote an endpoint's words: shown as one plain line
        print(f"mapstore-tui: {_printable(str(exc))}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, Stopped) as exc:  # a stop signal: cleaned up, no traceback
        if not isinstance(exc, Stopped) or exc.signum == signal.SIGINT:
            print(file=sys.stderr)  # after the ^C the terminal echoed
        return exc.exit_status if isinstance(exc, Stopped) else 130


def _need_a_terminal(command: str) -> None:
    """Refuse a panel whose stdin or stdout is not a terminal.

    Textual then reads no keys (``q`` does nothing) and spins at full CPU, writing escape
    codes into the file or pipe, until a signal ends it. A browser's panel (``web``) runs
    with ``TEXTUAL_DRIVER`` set and needs no terminal.
    """
    if os.environ.get("TEXTUAL_DRIVER"):
        return
    for stream, name in ((sys.stdin, "stdin"), (sys.stdout, "stdout")):
        if stream is None or not stream.isatty():
            raise _UsageError(
                f"{command} draws a panel and needs a terminal, but {name} is not one "
                "(in a script, `log-producers` and `snapshot` print what the panel shows)"
            )


def _panel(app: MapStoreApp, command: str) -> int:
    """Run a panel command's app, in a terminal only."""
    _need_a_terminal(command)
    return run_panel(app)


def _run(args: argparse.Namespace) -> int:
    if args.command == "demo":
        from mapstore_tui.demo_app import DemoApp

        _need_a_terminal("demo")  # before the sources start
        app = DemoApp(seed=args.seed, antipatterns=args.antipatterns)
        try:
            return run_panel(app)
        finally:
            with held():
                app.sources.close()
    if args.command == "serve-demo":
        return _serve_demo(args)
    if args.command == "ls":
        endpoints = list_debug_endpoints()
        if endpoints:
            _print_endpoints(endpoints)
        else:
            print("no live debug endpoints", file=sys.stderr)
        return 0
    if args.command == "fleet-demo":
        return _fleet_demo(args)
    if args.command == "record":
        return _record(args)
    if args.command == "replay":
        return _replay(args)
    if args.command == "web":
        return _web(args)
    address = args.address if args.command == "attach" else args.attach
    if _is_redis(address):
        assert address is not None
        return _run_fleet(args, address)
    if args.command == "attach" or args.attach is not None:
        view = _remote(args.address if args.command == "attach" else args.attach, args)
        try:
            if args.command == "attach":
                panel = MapStoreApp(view=view)
                panel.sub_title = view.description
                return _panel(panel, "attach")
            _print(args.command, view.log_producers, view.snapshot)
        finally:
            view.close()
        return 0
    store, sources = _demo_store(args.seed, args.antipatterns)
    try:
        _print(args.command, store.log_producers, store.snapshot)
    finally:
        sources.close()
    return 0


def _print(
    command: str, log_producers: Callable[[], str], snapshot: Callable[[], dict[str, Any]]
) -> None:
    if command == "log-producers":  # names come from other processes: never raw escapes
        print("\n".join(_printable(line) for line in log_producers().split("\n")))
    else:
        json.dump(snapshot(), sys.stdout, indent=2)
        print()


def _serve_demo(args: argparse.Namespace) -> int:
    """The demo sources in this process, served to panels elsewhere, until interrupted.

    Ctrl+C, SIGINT, SIGTERM and SIGHUP stop it cleanly (exit status 0: that is how it is
    stopped): the socket and token files go.
    """
    if args.socket is not None and args.port is not None:
        raise _UsageError("--socket and --port exclude each other")
    store = MapObjectStore()
    try:
        server = store.serve_debug(
            args.name or ("demo" if args.socket is None else None),
            path=args.socket,
            port=args.port,
            allow_dry_run=args.allow_dry_run,
            announce=False,
        )
    except MapStoreError as exc:
        raise _UsageError(str(exc)) from exc
    from mapstore_tui.demo import DemoSources

    sources = DemoSources(store, seed=args.seed, antipatterns=args.antipatterns, headless=True)
    try:
        sources.start()
        sources.run_threads()
        print(f"mapstore debug endpoint: {server.address}", flush=True)
        # By name only where `attach NAME` finds it; a --socket of one's own, by its path.
        named = not server.tcp and args.socket is None
        target = server.name if named else server.address
        # A TCP endpoint has no token file beside it: the command must carry the token.
        token = f" --token {server.token}" if server.token_path is None else ""
        print(f"attach with: mapstore-tui attach {target}{token}", flush=True)
        if server.token_path is None:
            print(f"token: {server.token}", flush=True)
        wait_until_stopped()
    except Stopped:  # while starting: stopped all the same
        pass
    finally:
        with held():
            server.close()
            sources.close()
    return 0
