"""WakeOnceBuffer: many pushing threads, one reader woken once per batch, nothing lost uncounted."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import pytest

from mapstore_core.plumbing import WakeOnceBuffer


@pytest.fixture
def fast_switching() -> Iterator[None]:
    """Switch threads every 10 µs so races show up in a short test."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(old)


def test_first_push_after_a_drain_wakes_once() -> None:
    wakes: list[int] = []
    buffer: WakeOnceBuffer[int] = WakeOnceBuffer(lambda: wakes.append(1))
    for i in range(5):
        buffer.push(i)
    assert len(wakes) == 1
    assert buffer.drain().items == [0, 1, 2, 3, 4]
    buffer.push(5)
    buffer.poke()
    assert len(wakes) == 2
    assert buffer.drain().items == [5]
    buffer.poke()
    assert len(wakes) == 3


def test_a_full_buffer_counts_what_it_lost() -> None:
    buffer: WakeOnceBuffer[int] = WakeOnceBuffer(lambda: None, maxlen=3)
    for i in range(10):
        buffer.push(i)
    items, lost, remaining = buffer.drain()
    assert (items, lost, remaining) == ([7, 8, 9], 7, 0)
    assert buffer.drain().lost == 0


def test_a_limited_drain_stays_woken_until_empty() -> None:
    wakes: list[int] = []
    buffer: WakeOnceBuffer[int] = WakeOnceBuffer(lambda: wakes.append(1))
    for i in range(5):
        buffer.push(i)
    assert buffer.drain(2) == ([0, 1], 0, 3)
    buffer.push(5)  # the reader still owes a drain: no second wake-up
    assert len(wakes) == 1
    assert buffer.drain() == ([2, 3, 4, 5], 0, 0)
    buffer.push(6)
    assert len(wakes) == 2


def test_pushing_threads_and_a_draining_reader_lose_nothing(fast_switching: None) -> None:
    woken = threading.Event()
    buffer: WakeOnceBuffer[tuple[int, int]] = WakeOnceBuffer(woken.set, maxlen=100)
    per_thread, threads = 5_000, 4
    received: list[tuple[int, int]] = []
    lost = 0
    done = threading.Event()

    def produce(n: int) -> None:
        for i in range(per_thread):
            buffer.push((n, i))

    def read() -> None:
        nonlocal lost
        while not (done.is_set() and len(buffer) == 0):
            woken.wait(0.01)  # the reader under test: a wake, or a look at `done` now and then
            woken.clear()
            drained = buffer.drain()
            received.extend(drained.items)
            lost += drained.lost

    reader = threading.Thread(target=read)
    reader.start()
    workers = [threading.Thread(target=produce, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    done.set()
    reader.join(timeout=10)
    assert not reader.is_alive()
    assert len(received) + lost == per_thread * threads
    for n in range(threads):  # each thread's items arrive in push order
        mine = [i for t, i in received if t == n]
        assert mine == sorted(mine)
