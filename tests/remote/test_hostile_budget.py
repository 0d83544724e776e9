"""Hostile clients against what all clients share: the answers budget, the places of clients,
and the places of connections waiting for their hello. None can be held for ever."""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from typing import Any

import pytest

from mapstore_core import (
    DebugClient,
    DebugServer,
    MapObjectStore,
)
from mapstore_core.debug import _session
from tests.poll import poll_until

from .helpers import hello, raw_connect, read_message, read_until, send, welcomed

STALL = 1.0
"""``WRITE_TIMEOUT`` while a client stalls: short, so the test is. Only then: a client that
reads is never exposed to it, however slow the machine."""

WRITE_TIMEOUT = _session.WRITE_TIMEOUT

CUT_OFF = "did not read what it was sent"


def _blobs() -> MapObjectStore:
    """A store whose history, and so its state, is 2.4 MB: sent in parts, never in one go."""
    store = MapObjectStore()
    producer = store.register_producer("blobs", "blob-service")
    for letter in "abcd":
        producer.publish(letter * 600_000)
    return store


def _cut_offs(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The warnings that a stalled client was cut off."""
    return [record for record in caplog.records if CUT_OFF in record.getMessage()]


def _read_to_the_end(sock: socket.socket) -> None:
    """Read what was left for ``sock`` until the server's end is closed."""
    while read_message(sock) is not None:
        pass


def test_a_client_that_stops_reading_an_answer_gives_the_budget_back(
    socket_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """It held its share of ANSWERS_IN_FLIGHT for ever (no write timeout): another client
    asking for a large answer was refused 2 of 2 times over 6 s. Now it is cut off."""
    monkeypatch.setattr(_session, "ANSWERS_IN_FLIGHT", 3_000_000)  # one 2.4 MB answer at once
    request = {"type": "request", "id": 1, "method": "history", "params": {"channel": "blobs"}}
    with (
        DebugServer(_blobs(), path=socket_path) as server,
        DebugClient(server.address) as client,
        raw_connect(server.address) as stuck,
    ):
        welcomed(stuck, server.token)  # its state, in parts, is read whole
        monkeypatch.setattr(_session, "WRITE_TIMEOUT", STALL)
        send(stuck, request)
        first = read_until(stuck, {"response"})
        assert first is not None and first["part"] == 0  # ...and it reads no more
        assert client.request("channels")  # the others are served meanwhile
        poll_until(lambda: server.answering == 0, what="the stuck client's budget given back")
        monkeypatch.setattr(_session, "WRITE_TIMEOUT", WRITE_TIMEOUT)
        history = client.request("history", channel="blobs")  # the budget is free again
        assert [h["value"][0] for h in history] == list("abcd")
        _read_to_the_end(stuck)  # its connection was closed
    assert len(_cut_offs(caplog)) == 1


def test_a_client_that_never_reads_its_state_gives_its_place_back(
    socket_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """It says hello, then reads nothing: its state never drained and, with one place for
    clients, nobody else could attach again. Its cut-off is one warning, no traceback."""
    with DebugServer(_blobs(), path=socket_path, max_clients=1) as server:
        monkeypatch.setattr(_session, "WRITE_TIMEOUT", STALL)
        with raw_connect(server.address) as stuck:
            send(stuck, hello(server.token))
            poll_until(lambda: _cut_offs(caplog), what="the stuck client cut off")
            poll_until(lambda: server.clients == 0, what="the stuck client's place given back")
            monkeypatch.setattr(_session, "WRITE_TIMEOUT", WRITE_TIMEOUT)
            with DebugClient(server.address, retry=None) as client:  # the place is free
                assert client.request("channels")
    [record] = _cut_offs(caplog)
    assert record.levelno == logging.WARNING and record.exc_info is None
    assert record.getMessage() == (
        f"mapstore debug endpoint: a client of 'app' (process {os.getpid()}) did not read "
        f"what it was sent for {STALL:g} s; its connection is closed"
    )


@pytest.mark.parametrize("tcp", [False, True], ids=["unix", "tcp"])
def test_silent_connections_never_keep_out_a_client_with_the_token(
    socket_path: Path, tcp: bool
) -> None:
    """16 silent connections (on TCP, any local user can open them) kept a client with the
    token out until the first hello deadline, 5 s. The one waiting longest makes room now."""
    where: dict[str, Any] = {"port": 0} if tcp else {"path": socket_path}
    with DebugServer(MapObjectStore(), **where) as server:
        silent = [raw_connect(server.address) for _ in range(server.max_pending)]
        try:
            poll_until(
                lambda: server.pending == server.max_pending,
                what="every silent connection waiting for its hello",
            )
            with DebugClient(server.address, token=server.token, retry=None) as client:
                assert client.request("channels")  # answered
            pushed_out = read_message(silent[0])
            assert pushed_out is not None and pushed_out["code"] == "busy", pushed_out
            assert "the longest waiting, made room" in pushed_out["message"]
        finally:
            for sock in silent:
                sock.close()
