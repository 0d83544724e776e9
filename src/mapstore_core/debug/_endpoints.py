"""Where debug endpoints live on disk, and how they are found, claimed, checked and cleaned.

Named endpoints live in one private directory of the user (``endpoint_dir()``): for each,
``NAME.sock`` (the socket), ``NAME.sock.token`` (its token) and ``NAME.sock.json`` (name, pid,
program, start time, address). Everything here distrusts the file system:

- no symlink is ever followed to the directory or its files (``lstat``, ``O_NOFOLLOW``); the
  directory must be a real directory owned by the user with mode 0700; a file is written to a
  new name (``O_EXCL``) with mode 0600 and renamed into place, so whatever was at the final
  name is replaced, never written through;
- the way to that directory is checked too, from ``/``, one component at a time: only
  symlinks of the user or root are followed, and every directory on the way must belong to
  the user or root and be writable by nobody else (unless sticky, as ``/tmp`` is), so no
  other user can swap the directory, or one on its way, after the check;
- a socket is live when something accepts on it; a live socket is never replaced, a non-socket is
  never deleted; a stale one (nothing listening, its process gone) is removed;
- claims, listings and removals take a lock on the directory, so two apps starting together never
  take the same name and an app stopping never deletes its successor's socket.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import shlex
import socket
import stat
import struct
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mapstore_core._errors import DebugAddressError, DebugAuthError, DebugEndpointError
from mapstore_core._public import public

__all__ = [
    "DebugEndpoint",
    "endpoint_dir",
    "list_debug_endpoints",
    "peer_credentials",
    "program_name",
    "read_private",
    "resolve_address",
]

MAX_SUFFIX = 99
PROBE_TIMEOUT = 1.0
MAX_SYMLINKS = 40
"""Symlinks followed on the way to an endpoint directory before giving up (Linux's limit)."""
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@public
@dataclass(frozen=True)
class DebugEndpoint:
    """A live debug endpoint, as ``mapstore-tui ls`` shows it."""

    name: str
    pid: int | None
    program: str
    started: str
    address: str


def endpoint_dir() -> Path:
    """``$XDG_RUNTIME_DIR/mapstore``, else ``<tmp>/mapstore-<uid>``: where named endpoints live."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return Path(runtime) / "mapstore"
    return Path(tempfile.gettempdir()) / f"mapstore-{os.getuid()}"


def program_name() -> str:
    """The default endpoint name: ``app`` for ``python app.py``, ``pkg`` for ``python -m pkg``."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    name = ""
    if spec is not None and spec.name:
        name = spec.name.removesuffix(".__main__")
    elif sys.argv and sys.argv[0] not in ("", "-c", "-"):
        name = Path(sys.argv[0]).stem
    name = _UNSAFE.sub("-", name).lstrip(".-_")[:48]
    return name or "python"


def check_name(name: str) -> str:
    """``name`` if it can name an endpoint (a plain file name), else ``DebugEndpointError``."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise DebugEndpointError(
            f"an endpoint name is 1 to 64 letters, digits, '.', '_' or '-' (starting with a "
            f"letter or digit), not {name!r}"
            + ("; for a socket path, pass path=" if "/" in str(name) else "")
        )
    return name


# -- files ----------------------------------------------------------------------------------


def private_directory(directory: Path, *, create: bool) -> None:
    """Make sure ``directory`` is a real directory of this user that nobody else can enter.

    The way to it is checked first (``_check_way``). With ``create``, only its last
    component is created (mode 0700); parents never are.

    Raises:
        DebugEndpointError: missing, a symlink, not a directory, someone else's, or not 0700;
            or another user could change the way to it (the message names the component).
    """
    _check_way(directory)
    if create:
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            pass
        except OSError as exc:
            raise DebugEndpointError(f"cannot create {directory}: {exc.strerror}") from exc
        else:
            os.chmod(directory, 0o700, follow_symlinks=False)
    try:
        info = os.lstat(directory)
    except FileNotFoundError:
        raise DebugEndpointError(
            f"{directory} does not exist; create it (mode 700) or choose another path"
        ) from None
    except OSError as exc:
        raise DebugEndpointError(f"cannot use {directory}: {exc.strerror}") from exc
    if stat.S_ISLNK(info.st_mode):
        raise DebugEndpointError(
            f"{directory} is a symlink; the debug socket needs a real directory"
        )
    if not stat.S_ISDIR(info.st_mode):
        raise DebugEndpointError(f"{directory} is not a directory")
    if info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o077:
        raise DebugEndpointError(
            f"{directory} must belong to you and be private (chmod 700) to hold the debug socket"
        )


def _check_way(directory: Path) -> None:
    """Refuse ``directory`` if a user other than this one or root could change its parents.

    Walks from ``/`` as the kernel resolves the path, one ``lstat`` per component: a symlink
    is followed only if this user or root made it (one of another user's could be pointed
    elsewhere between this check and the bind); each directory on the way (the links'
    targets included) must belong to this user or root and be writable by nobody else,
    unless it is sticky (``/tmp``: others cannot rename what is ours in it). ``directory``
    itself is ``private_directory``'s to check.

    Raises:
        DebugEndpointError: naming the component and what is wrong with it.
    """
    trusted = (os.getuid(), 0)
    target = directory.absolute()
    rest = list(target.parent.parts[1:])  # the components after "/"
    here = Path(target.anchor)
    hops = 0
    while True:
        way = f"{here}, on the way to {directory},"
        try:
            info = os.lstat(here)
            link = Path(os.readlink(here)) if stat.S_ISLNK(info.st_mode) else None
        except FileNotFoundError:
            raise DebugEndpointError(
                f"{way} does not exist; create it or choose another path"
            ) from None
        except OSError as exc:
            raise DebugEndpointError(f"cannot use {directory}: {here}: {exc.strerror}") from exc
        if link is not None:
            if info.st_uid not in trusted:
                raise DebugEndpointError(
                    f"{way} is a symlink of another user (uid {info.st_uid}), who could point "
                    "it elsewhere; not following it: serve the debug socket elsewhere"
                )
            hops += 1
            if hops > MAX_SYMLINKS:
                raise DebugEndpointError(f"cannot use {directory}: too many symlinks on the way")
            rest[:0] = link.parts[1:] if link.is_absolute() else link.parts
            here = Path(link.anchor) if link.is_absolute() else here.parent
            continue
        if not stat.S_ISDIR(info.st_mode):
            raise DebugEndpointError(f"cannot use {directory}: {here} is not a directory")
        if info.st_uid not in trusted:
            raise DebugEndpointError(
                f"{way} belongs to another user (uid {info.st_uid}), who could swap what is "
                "in it; serve the debug socket elsewhere"
            )
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o022 and not mode & stat.S_ISVTX:
            raise DebugEndpointError(
                f"{way} is writable by other users (mode {mode:o}), who could swap what is in "
                "it; chmod go-w it (or +t), or serve the debug socket elsewhere"
            )
        while rest and rest[0] in (".", ".."):
            if rest.pop(0) == "..":
                here = here.parent  # ``here`` is a real directory: its parent is too
        if not rest:
            return
        here = here / rest.pop(0)


@contextlib.contextmanager
def directory_lock(directory: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``directory`` (claims, listings and removals take turns)."""
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def write_private(path: Path, text: str) -> tuple[int, int]:
    """Write ``text`` to a new file (mode 0600, no symlink followed), renamed to ``path``.

    Whatever was at ``path`` (a symlink, a file of another mode) is replaced, never written
    through. Returns the new file's ``(st_dev, st_ino)``.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    descriptor = os.open(temporary, flags, 0o600)
    try:
        os.fchmod(descriptor, 0o600)  # whatever the umask
        with os.fdopen(descriptor, "w", encoding="utf-8", closefd=False) as stream:
            stream.write(text)
        info = os.fstat(descriptor)
        os.replace(temporary, path)  # fails on a directory there: nothing is left behind
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    finally:
        os.close(descriptor)
    return info.st_dev, info.st_ino


def read_private(path: Path) -> str | None:
    """A file's text if this user owns it and nobody else can read it; None if it is missing.

    Raises:
        DebugAuthError: a symlink, not a regular file, someone else's, or readable by others.
    """
    try:
        # O_NONBLOCK: a FIFO put there must not hang the open (it is refused just below)
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
        descriptor = os.open(path, flags)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise DebugAuthError(f"{path} is a symlink; not reading a token through it") from None
        raise DebugAuthError(f"cannot read {path}: {exc.strerror}") from exc
    try:  # checked on the descriptor, before a stream is made of it (a directory cannot be)
        info = os.fstat(descriptor)
    except OSError as exc:
        os.close(descriptor)
        raise DebugAuthError(f"cannot read {path}: {exc.strerror}") from exc
    if not stat.S_ISREG(info.st_mode):
        os.close(descriptor)
        raise DebugAuthError(f"{path} is not a regular file")
    with os.fdopen(descriptor, "rb") as stream:
        if info.st_uid != os.getuid():
            raise DebugAuthError(
                f"{path} belongs to another user (uid {info.st_uid}); not using it"
            )
        if stat.S_IMODE(info.st_mode) & 0o077:
            raise DebugAuthError(
                f"{path} is readable by others (mode {stat.S_IMODE(info.st_mode):o}); "
                "not using it (chmod 600 it)"
            )
        data = stream.read(65_536)
    try:
        return data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise DebugAuthError(f"{path} is not UTF-8 text") from None


def remove_if_same(path: Path, identity: tuple[int, int] | None) -> None:
    """Remove ``path`` if it is still the file we made (``(st_dev, st_ino)``), or any if None.

    A directory is never removed (someone's, named like our files): it is left as it is.
    """
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(info.st_mode):
        return
    if identity is None or (info.st_dev, info.st_ino) == identity:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def companions(sock: Path) -> tuple[Path, Path]:
    """The token and description files next to a socket."""
    return sock.with_name(sock.name + ".token"), sock.with_name(sock.name + ".json")


# -- processes ------------------------------------------------------------------------------


def peer_credentials(sock: socket.socket) -> tuple[int | None, int | None]:
    """``(pid, uid)`` of the process at the other end of a Unix socket (None where unknown)."""
    if hasattr(socket, "SO_PEERCRED"):  # Linux
        raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        pid, uid, _ = struct.unpack("3i", raw)
        return pid, uid
    local_peercred = getattr(socket, "LOCAL_PEERCRED", None)  # macOS, BSD: struct xucred
    if local_peercred is not None:
        raw = sock.getsockopt(0, local_peercred, struct.calcsize("IIh16I"))
        return None, struct.unpack_from("II", raw)[1]
    return None, None


def process_start(pid: int) -> str | None:
    """An identity of process ``pid``'s start (Linux: its start time in ticks), None if gone.

    ``pid`` may come from a description file: anything but a plausible pid is no process.
    """
    if type(pid) is not int or not 0 < pid < 2**31:
        return None
    try:
        with open(f"/proc/{pid}/stat", "rb") as stream:
            fields = stream.read().rsplit(b")", 1)[1].split()
        if fields[0] in (b"Z", b"X"):  # killed, not yet reaped: it serves nothing any more
            return None
        return fields[19].decode()
    except (OSError, IndexError):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return "alive"


def this_program() -> str:
    """This process's command line, as ``ls`` shows it."""
    argv = getattr(sys, "orig_argv", None) or [sys.executable, *sys.argv]
    return shlex.join([Path(argv[0]).name, *argv[1:]])


def describe(path: Path, *, name: str, address: str, started: str) -> str:
    """The JSON description written next to a socket."""
    return json.dumps(
        {
            "name": name,
            "pid": os.getpid(),
            "process_start": process_start(os.getpid()),
            "program": this_program(),
            "started": started,
            "address": address,
        }
    )


def read_description(sock: Path) -> dict[str, Any]:
    """The description next to a socket, or {} if missing or not ours."""
    try:
        text = read_private(companions(sock)[1])
        data = json.loads(text) if text else {}
    except (DebugAuthError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@dataclass(frozen=True)
class Probe:
    """What is at a socket path: ``absent``, ``live`` (pid, uid), ``stale``, ``busy``, ``other``."""

    state: str
    pid: int | None = None
    uid: int | None = None


def probe(path: Path) -> Probe:
    """Look at ``path`` without following links; connect to it if it is a socket."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return Probe("absent")
    if not stat.S_ISSOCK(info.st_mode):
        return Probe("other")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(PROBE_TIMEOUT)
        try:
            sock.connect(str(path))
        except FileNotFoundError:
            return Probe("absent")
        except ConnectionRefusedError:
            description = read_description(path)
            pid, started = description.get("pid"), description.get("process_start")
            if (
                started is not None
                and isinstance(pid, int)
                and pid != os.getpid()
                and process_start(pid) == started
            ):
                return Probe("busy", pid)  # its process still runs: not ours to remove
            return Probe("stale")
        except (BlockingIOError, TimeoutError):
            return Probe("busy")  # a full backlog: something listens
        except OSError:
            return Probe("busy")
        pid, uid = peer_credentials(sock)
        return Probe("live", pid, uid)


def owner_text(path: Path, pid: int | None) -> str:
    """``process 1234 (python3 app.py)``, as much as is known."""
    if pid is None:
        pid = read_description(path).get("pid")
    if not isinstance(pid, int):
        return "another process"
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as stream:
            argv = [a.decode(errors="replace") for a in stream.read().split(b"\0") if a]
        program = shlex.join([Path(argv[0]).name, *argv[1:]]) if argv else ""
    except OSError:
        program = str(read_description(path).get("program") or "")
    return f"process {pid} ({program})" if program else f"process {pid}"


def remove_stale(sock: Path) -> None:
    """Remove a stale socket and its companions (under the directory lock)."""
    for path in (sock, *companions(sock)):
        remove_if_same(path, None)


# -- listing and addresses ------------------------------------------------------------------


def list_debug_endpoints(directory: Path | None = None) -> list[DebugEndpoint]:
    """The live named endpoints of this user, by name; stale ones are removed on the way."""
    directory = directory or endpoint_dir()
    try:
        private_directory(directory, create=False)
    except DebugEndpointError:
        return []
    found: list[DebugEndpoint] = []
    with directory_lock(directory):
        for entry in sorted(os.scandir(directory), key=lambda e: e.name):
            path = Path(entry.path)
            if (
                entry.name.startswith(".")
                and ".sock." in entry.name
                and entry.is_file(follow_symlinks=False)
            ):  # a write of ours interrupted before its rename
                remove_if_same(path, None)
                continue
            if entry.name.endswith((".sock.token", ".sock.json")):
                if not os.path.lexists(path.with_name(entry.name.rsplit(".", 1)[0])):
                    remove_if_same(path, None)  # an orphan
                continue
            if not entry.name.endswith(".sock"):
                continue
            seen = probe(path)
            if seen.state == "stale":
                remove_stale(path)
                continue
            if seen.state != "live" or seen.uid not in (None, os.getuid()):
                continue
            description = read_description(path)
            found.append(
                DebugEndpoint(
                    name=entry.name.removesuffix(".sock"),
                    pid=seen.pid if seen.pid is not None else description.get("pid"),
                    program=str(description.get("program") or ""),
                    started=str(description.get("started") or ""),
                    address=f"unix:{path}",
                )
            )
    return sorted(found, key=lambda endpoint: endpoint.name)


def resolve_address(text: str) -> str:
    """An address as the user typed it, as ``unix:PATH`` or ``tcp://HOST:PORT``.

    ``unix:PATH`` and a plain path (with a ``/``, or ending in ``.sock``) are Unix sockets;
    ``tcp://HOST:PORT`` and ``HOST:PORT`` are TCP; a bare name is a named endpoint.

    Raises:
        DebugAddressError: malformed, a port out of range, or a name with no live endpoint.
    """
    text = text.strip()
    if not text:
        raise DebugAddressError("an address is empty")
    if text.startswith("unix:"):
        path = text[5:]
        if not path:
            raise DebugAddressError("'unix:' needs a path")
        return f"unix:{path}"
    if text.startswith("tcp://") or (
        ":" in text and "/" not in text and not text.endswith(".sock")
    ):
        hostport = text.removeprefix("tcp://")
        host, sep, port = hostport.rpartition(":")
        host = host.strip("[]")
        if not sep or not host or not port.isdigit() or not port.isascii():
            raise DebugAddressError(f"a TCP address is HOST:PORT, not {text!r}")
        if not 1 <= int(port) <= 65_535:
            raise DebugAddressError(f"port {port} is out of range (1-65535)")
        shown = f"[{host}]" if ":" in host else host
        return f"tcp://{shown}:{int(port)}"
    if "/" in text or text.endswith(".sock"):
        return f"unix:{text}"
    live = {endpoint.name: endpoint for endpoint in list_debug_endpoints()}
    if text in live:
        return live[text].address
    known = ", ".join(sorted(live)) or "none"
    raise DebugAddressError(
        f"no live debug endpoint is named {text!r} (live: {known}); "
        "give unix:PATH, HOST:PORT or a name from `mapstore-tui ls`"
    )
