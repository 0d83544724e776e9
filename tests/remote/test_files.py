"""The endpoint's files: no symlink followed, private modes, nothing live or foreign replaced."""

from __future__ import annotations

import os
import re
import signal
import stat
from pathlib import Path

import pytest

from mapstore_core import (
    DebugAuthError,
    DebugClient,
    DebugEndpointError,
    DebugServer,
    MapObjectStore,
)
from mapstore_core.debug import read_token

from .helpers import private_dir

OTHER_UID = 65534  # nobody


def needs_root() -> None:
    if os.getuid() != 0:
        pytest.skip("giving a file to another user needs root")


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_default_directory_is_made_private(runtime: Path) -> None:
    with DebugServer(MapObjectStore(), name="billing") as server:
        assert server.path == runtime / "mapstore" / "billing.sock"
        assert mode(runtime / "mapstore") == 0o700
        assert mode(server.path) == 0o600
        assert server.token_path is not None and mode(server.token_path) == 0o600


def test_a_symlinked_endpoint_directory_is_refused(tmp_path: Path, runtime: Path) -> None:
    """4. ``$XDG_RUNTIME_DIR/mapstore`` a symlink (someone else's) to a directory."""
    target = private_dir(tmp_path / "elsewhere")
    link = runtime / "mapstore"
    link.symlink_to(target)
    if os.getuid() == 0:
        os.lchown(link, OTHER_UID, OTHER_UID)
    with pytest.raises(DebugEndpointError, match="symlink"):
        MapObjectStore().serve_debug(announce=False)
    assert list(target.iterdir()) == []  # nothing made in the link's target


def test_a_directory_of_another_user_is_refused(runtime: Path) -> None:
    needs_root()
    directory = private_dir(runtime / "mapstore")
    os.chown(directory, OTHER_UID, OTHER_UID)
    with pytest.raises(DebugEndpointError, match="belong to you"):
        MapObjectStore().serve_debug(announce=False)


def _serve_under(way: Path, how: str, monkeypatch: pytest.MonkeyPatch) -> DebugServer:
    """Serve with ``way`` on the path: as ``$XDG_RUNTIME_DIR`` (named) or above ``path=``."""
    if how == "named":
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(way))
        return MapObjectStore().serve_debug(announce=False)
    return DebugServer(MapObjectStore(), path=way / "run" / "app.sock").start()


@pytest.mark.parametrize("how", ["named", "path"])
def test_a_parent_symlink_of_another_user_is_refused(
    tmp_path: Path, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the last component was checked: a symlink above it, someone else's, was followed."""
    needs_root()
    target = private_dir(tmp_path / "elsewhere")
    private_dir(target / "run")
    link = tmp_path / "link"
    link.symlink_to(target)
    os.lchown(link, OTHER_UID, OTHER_UID)
    expected = rf"^{re.escape(str(link))}, on the way to .* is a symlink of another user"
    with pytest.raises(DebugEndpointError, match=expected):
        _serve_under(link, how, monkeypatch)
    assert [p.name for p in target.iterdir()] == ["run"]  # nothing made in the link's target
    assert list((target / "run").iterdir()) == []


@pytest.mark.parametrize("how", ["named", "path"])
def test_a_parent_directory_others_can_write_is_refused(
    tmp_path: Path, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another user could swap the private directory below it for one of theirs."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    way = private_dir(shared / "xdg")
    private_dir(way / "run")
    expected = (
        rf"^{re.escape(str(shared))}, on the way to .* is writable by other users \(mode 777\)"
    )
    with pytest.raises(DebugEndpointError, match=expected):
        _serve_under(way, how, monkeypatch)
    assert not (way / "mapstore").exists() and list((way / "run").iterdir()) == []


def test_a_parent_directory_of_another_user_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    needs_root()
    theirs = private_dir(tmp_path / "theirs")
    way = private_dir(theirs / "xdg")
    os.chown(theirs, OTHER_UID, OTHER_UID)
    with pytest.raises(DebugEndpointError, match=r"theirs, on the way to .* another user"):
        _serve_under(way, "named", monkeypatch)


def test_own_symlinks_and_sticky_directories_on_the_way_are_fine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not everything is refused: a symlink of yours (or root's, as macOS's ``/tmp``) and a
    sticky directory open to all (as ``/tmp``), ``..`` included."""
    sticky = tmp_path / "sticky"
    sticky.mkdir()
    sticky.chmod(0o1777)
    real = private_dir(sticky / "real")
    (tmp_path / "link").symlink_to("sticky/real/../real")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "link"))
    with MapObjectStore().serve_debug("ok", announce=False) as server:
        assert server.path == tmp_path / "link" / "mapstore" / "ok.sock"
        assert (real / "mapstore" / "ok.sock").exists()
        with DebugClient(server.address) as client:
            assert client.request("channels")


def test_a_symlinked_token_file_is_replaced_not_written_through(
    tmp_path: Path, socket_path: Path
) -> None:
    """5. A pre-created ``<socket>.token`` symlink to a 0644 file."""
    exposed = tmp_path / "exposed.txt"
    exposed.write_text("public\n")
    exposed.chmod(0o644)
    token_path = socket_path.with_name(socket_path.name + ".token")
    token_path.symlink_to(exposed)
    with DebugServer(MapObjectStore(), path=socket_path) as server:
        assert exposed.read_text() == "public\n"  # the link's target is untouched
        assert not token_path.is_symlink()
        assert mode(token_path) == 0o600 and token_path.read_text() == server.token


def test_an_open_token_file_becomes_private(socket_path: Path) -> None:
    """6. A token file left with mode 0644."""
    token_path = socket_path.with_name(socket_path.name + ".token")
    token_path.write_text("old")
    token_path.chmod(0o644)
    with DebugServer(MapObjectStore(), path=socket_path) as server:
        assert mode(token_path) == 0o600 and token_path.read_text() == server.token


def test_a_live_socket_is_never_replaced(socket_path: Path) -> None:
    """7. ``path=P`` while another endpoint serves P."""
    store = MapObjectStore()
    with DebugServer(store, path=socket_path) as first:
        assert first.token_path is not None
        token = first.token_path.read_text()
        with pytest.raises(DebugEndpointError, match=rf"is served by process {os.getpid()}"):
            DebugServer(MapObjectStore(), path=socket_path).start()
        assert first.token_path.read_text() == token
        with DebugClient(first.address) as client:  # still reachable, same token
            assert client.request("channels")


def test_a_file_that_is_not_a_socket_is_refused_not_deleted(socket_path: Path) -> None:
    """7. ``path=`` an existing regular file."""
    socket_path.write_text("precious")
    with pytest.raises(DebugEndpointError, match="not a socket; not deleting it"):
        DebugServer(MapObjectStore(), path=socket_path).start()
    assert socket_path.read_text() == "precious"


def test_a_stale_socket_is_replaced(socket_path: Path) -> None:
    import socket

    dead = socket.socket(socket.AF_UNIX)
    dead.bind(str(socket_path))  # bound, never listening: nothing answers
    dead.close()
    with DebugServer(MapObjectStore(), path=socket_path) as server:
        with DebugClient(server.address) as client:
            assert client.request("channels")


def test_no_process_wide_umask_change(socket_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_umask(_: int) -> int:
        raise AssertionError("the umask is process-wide: other threads' files would change")

    monkeypatch.setattr(os, "umask", no_umask)
    with DebugServer(MapObjectStore(), path=socket_path) as server:
        assert mode(socket_path) == 0o600
        assert server.token_path is not None and mode(server.token_path) == 0o600


def test_files_are_removed_at_stop(socket_path: Path) -> None:
    server = DebugServer(MapObjectStore(), path=socket_path).start()
    assert server.token_path is not None and server.token_path.exists()
    server.stop()
    assert os.listdir(socket_path.parent) == []


def test_a_stopping_endpoint_never_removes_its_successors_files(socket_path: Path) -> None:
    first = DebugServer(MapObjectStore(), path=socket_path).start()
    for path in socket_path.parent.iterdir():  # someone removed them meanwhile
        path.unlink()
    second = DebugServer(MapObjectStore(), path=socket_path).start()
    try:
        first.stop()
        assert socket_path.exists() and second.token_path is not None
        assert second.token_path.read_text() == second.token
        with DebugClient(second.address) as client:
            assert client.request("channels")
    finally:
        second.stop()


def test_the_apps_signal_handlers_are_left_alone(socket_path: Path) -> None:
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    with DebugServer(MapObjectStore(), path=socket_path):
        after = {sig: signal.getsignal(sig) for sig in before}
    assert after == before


# -- the client's side ------------------------------------------------------------------------


def test_the_client_refuses_a_token_file_others_can_read(socket_path: Path) -> None:
    with DebugServer(MapObjectStore(), path=socket_path) as server:
        assert server.token_path is not None
        server.token_path.chmod(0o644)
        with pytest.raises(DebugAuthError, match="readable by others"):
            read_token(server.address)
        with pytest.raises(DebugAuthError, match="readable by others"):
            DebugClient(server.address).connect()


def test_the_client_refuses_a_token_file_of_another_user(socket_path: Path) -> None:
    needs_root()
    with DebugServer(MapObjectStore(), path=socket_path) as server:
        assert server.token_path is not None
        os.chown(server.token_path, OTHER_UID, OTHER_UID)
        with pytest.raises(DebugAuthError, match="another user"):
            DebugClient(server.address).connect()


def test_the_client_never_reads_a_token_through_a_symlink(
    tmp_path: Path, socket_path: Path
) -> None:
    with DebugServer(MapObjectStore(), path=socket_path) as server:
        assert server.token_path is not None
        real = tmp_path / "token"
        real.write_text(server.token)
        real.chmod(0o600)
        server.token_path.unlink()
        server.token_path.symlink_to(real)
        with pytest.raises(DebugAuthError, match="symlink"):
            DebugClient(server.address).connect()


def test_token_file_option(tmp_path: Path, socket_path: Path) -> None:
    with DebugServer(MapObjectStore(), port=0, token="s3cret-token") as server:
        token_file = tmp_path / "token"
        token_file.write_text("s3cret-token\n")
        token_file.chmod(0o600)
        with DebugClient(server.address, token_file=token_file) as client:
            assert client.request("channels")
        token_file.chmod(0o640)
        with pytest.raises(DebugAuthError, match="mode 640"):
            DebugClient(server.address, token_file=token_file).connect()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # fork() with threads, on 3.12+
def test_a_forked_child_never_removes_its_parents_files(socket_path: Path) -> None:
    with DebugServer(MapObjectStore(), path=socket_path) as server:
        child = os.fork()
        if child == 0:  # what the child's exit would run
            try:
                assert server._cleanup is not None
                server._cleanup()
            finally:
                os._exit(0)
        os.waitpid(child, 0)
        assert socket_path.exists() and server.token_path is not None
        assert server.token_path.exists()
