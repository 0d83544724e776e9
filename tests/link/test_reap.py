"""Reaping a dead process: its producers closed here in linear work, a channel at a time.

A process with hundreds of producers on two channels is crashed (no goodbye); the other
store reaps it. What the reap does is counted, not timed: how many producers it visits in a
channel's table of remote producers (a read of every value per producer made it quadratic),
how often it takes each channel's lock, and whether it ever holds two channels' locks at once.
Pacing (``_linked._SLICE``) is set by each test, so the counts do not depend on the machine.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from mapstore_core import MapObjectStore, StoreEvent, StoreLink, _linked
from mapstore_core._state import ChannelState
from tests.fleet.helpers import crash
from tests.link.helpers import RedisServer
from tests.poll import poll_until

HB = 0.5  # 3 missed = 1.5 s: no false reap on a loaded machine (as test_link.py)
SIZES = {"reap-a": 300, "reap-b": 100}  # the dead process's producers on each channel


_held = threading.local()  # per thread: the counting locks it holds, and how many times


def _holding() -> dict[CountingLock, int]:
    if not hasattr(_held, "locks"):
        _held.locks = {}
    locks: dict[CountingLock, int] = _held.locks
    return locks


class CountingLock:
    """A channel's own lock, counting who takes it; notes a thread holding two channels'."""

    def __init__(self, lock: Any, crossed: list[str]) -> None:
        self._lock = lock
        self._crossed = crossed
        self.taken = 0

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        got: bool = self._lock.acquire(blocking, timeout)
        if got:
            self.taken += 1
            holding = _holding()
            if any(lock is not self for lock in holding):
                self._crossed.append(threading.current_thread().name)
            holding[self] = holding.get(self, 0) + 1
        return got

    def release(self) -> None:
        holding = _holding()
        holding[self] -= 1
        if not holding[self]:
            del holding[self]
        self._lock.release()

    def __enter__(self) -> CountingLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class CountingTable(dict[str, Any]):
    """A channel's remote producers; counts every producer visited through ``values()``."""

    visits = 0

    def values(self) -> Iterator[Any]:  # type: ignore[override]
        for producer in super().values():
            self.visits += 1
            yield producer


class Reap:
    """A receiver, and a process with ``SIZES`` producers that is then crashed."""

    def __init__(self, server: RedisServer, links: list[StoreLink]) -> None:
        self.receiver = MapObjectStore()
        self.link = self._link(server, links, self.receiver, "receiver")
        self.doomed = MapObjectStore()
        self.doomed_link = self._link(server, links, self.doomed, "doomed")
        self.values: dict[str, dict[str, Any]] = {}
        self.handles: list[Any] = []  # held: a handle collected unclosed is a leak
        for channel, count in SIZES.items():
            for i in range(count):
                handle = self.doomed.register_producer(channel, f"{channel}-source-{i}")
                self.handles.append(handle)
                if i % 10:  # every tenth never publishes: nothing to clear, nothing stale
                    handle.publish({"n": i, "channel": channel})
            self.values[channel] = {
                f"{pid}@doomed": value for pid, value in self.doomed.values(channel).items()
            }
        poll_until(
            lambda: (
                all(self.receiver.values(c) == v for c, v in self.values.items())
                and len(self.receiver.producers()) == sum(SIZES.values())
            ),
            what="every producer and value of the doomed process",
        )
        self.events: list[StoreEvent] = []
        self.receiver.subscribe_events(self.events.append, kinds=["closed", "cleared"])
        self.crossed: list[str] = []
        self.locks: dict[str, CountingLock] = {}
        self.tables: dict[str, CountingTable] = {}
        self.retired = threading.Event()
        self.counts: dict[str, tuple[int, int]] = {}  # channel -> (lock taken, visits)
        presence = self.link._presence
        retire = presence.retire

        def counted(process: str, reason: str) -> list[tuple[str, str, Any]]:
            before = self._counts()
            held = retire(process, reason)
            after = self._counts()
            for channel in SIZES:
                (taken, visits), (taken_before, visits_before) = after[channel], before[channel]
                self.counts[channel] = (taken - taken_before, visits - visits_before)
            self.retired.set()
            return held

        presence.retire = counted  # type: ignore[method-assign]

    @staticmethod
    def _link(
        server: RedisServer, links: list[StoreLink], store: MapObjectStore, name: str
    ) -> StoreLink:
        link = store.link(server.url, namespace="reap", name=name, heartbeat=HB)
        links.append(link)
        return link

    def _channel(self, name: str) -> ChannelState:
        state = self.receiver._state.channels[name]
        return state

    def _counts(self) -> dict[str, tuple[int, int]]:
        return {c: (self.locks[c].taken, self.tables[c].visits) for c in SIZES}

    def count(self) -> None:
        """Swap in the counting lock and table (under the channel's own lock)."""
        for name in SIZES:
            state = self._channel(name)
            with state.lock:
                self.tables[name] = state.remote = CountingTable(state.remote)
                self.locks[name] = state.lock = CountingLock(state.lock, self.crossed)

    def crash(self) -> None:
        crash(self.doomed_link)
        assert self.retired.wait(timeout=30), "the receiver never reaped the doomed process"

    def check_events(self) -> None:
        """Each producer: one ``closed`` with the reason, after a ``cleared`` if it held one."""
        for channel, count in SIZES.items():
            mine = [e for e in self.events if e.channel == channel]
            for i in range(count):
                pid = f"{channel}-source-{i}"
                kinds = [e.kind for e in mine if e.producer_id == pid]
                assert kinds == (["cleared", "closed"] if i % 10 else ["closed"]), (pid, kinds)
            for closed in (e for e in mine if e.kind == "closed"):
                assert closed.process == "doomed"
                assert "process 'doomed' missed 3 heartbeats" in (closed.message or "")
            assert not self.receiver.producers(channel)

    def check_stale(self) -> None:
        """The fleet keeps every value the process's producers held, in their order."""
        (gone,) = [p for p in self.link.processes() if p.name == "doomed"]
        assert not gone.alive
        order = [c.name for c in self.receiver.channels() if c.name in SIZES]  # as first seen
        expected = [
            (channel, key.removesuffix("@doomed"), value)
            for channel in order
            for key, value in self.values[channel].items()
        ]
        assert gone.stale == expected


@pytest.fixture
def reap(redis_server: RedisServer, links: list[StoreLink]) -> Reap:
    return Reap(redis_server, links)


def test_a_reap_visits_each_producer_a_bounded_number_of_times(
    reap: Reap, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unpaced (one long slice): each channel's lock is taken three times, whatever the
    number of producers (read the values, pick the process's producers, close them), and
    each producer is visited twice (the reap was quadratic: it read a channel's every value
    once per producer, and took the lock three times per producer)."""
    monkeypatch.setattr(_linked, "_SLICE", 3600.0, raising=False)
    reap.count()
    reap.crash()
    for channel, count in SIZES.items():
        taken, visits = reap.counts[channel]
        assert visits == 2 * count, (channel, visits)
        assert taken == 3, (channel, taken)
    assert not reap.crossed
    reap.check_events()
    reap.check_stale()


def test_a_paced_reap_gives_way_between_producers_and_closes_each_once(
    reap: Reap, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Paced at every producer (a slice of 0 s): each close is its own hold of the channel's
    lock, never two channels' at once; the events and the stale values are the same."""
    monkeypatch.setattr(_linked, "_SLICE", 0.0, raising=False)
    reap.count()
    reap.crash()
    for channel, count in SIZES.items():
        taken, visits = reap.counts[channel]
        assert visits == 2 * count, (channel, visits)
        assert taken == 2 + count, (channel, taken)
    assert not reap.crossed
    reap.check_events()
    reap.check_stale()
