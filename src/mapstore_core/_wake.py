"""``WakeOnceBuffer``: hand items from any thread to one reader, waking it once per batch.

Store callbacks run in the publishing thread, under the channel's lock, so whatever they
feed must be cheap and never block: an append under a short lock, and a wake-up only for the
first item after the reader last drained. The reader (a UI loop, an asyncio pump) drains
everything at once on its own thread, so it never iterates a container another thread is
appending to. Bounded: when the reader falls behind, the oldest items go and are counted, so
the reader can say how many it lost and resynchronise.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Generic, NamedTuple, TypeVar

__all__ = ["Drained", "WakeOnceBuffer"]

T = TypeVar("T")


class Drained(NamedTuple, Generic[T]):
    """What one ``drain()`` took."""

    items: list[T]
    """The items, oldest first."""
    lost: int
    """Items pushed out because the buffer was full since the last drain."""
    remaining: int
    """Items still buffered (a drain with a ``limit``); the reader should come back for them."""


class WakeOnceBuffer(Generic[T]):
    """A bounded, thread-safe buffer whose first push after a drain calls ``wake()``.

    ``wake`` runs in the pushing thread, outside the buffer's lock; it must be quick and
    thread-safe (``post_message``, ``loop.call_soon_threadsafe``).
    """

    __slots__ = ("_items", "_lock", "_lost", "_pending", "_wake")

    def __init__(self, wake: Callable[[], object], *, maxlen: int | None = None) -> None:
        self._wake = wake
        self._items: deque[T] = deque(maxlen=maxlen)
        self._lock = threading.Lock()
        self._lost = 0
        self._pending = False

    def push(self, item: T) -> None:
        """Add ``item`` (any thread); wake the reader if it is not already woken."""
        # On a publish path: acquire()/release() cost half of `with` on CPython 3.11, and
        # nothing between them can raise.
        lock = self._lock
        items = self._items
        lock.acquire()
        if len(items) == items.maxlen:
            self._lost += 1
        items.append(item)
        if self._pending:
            lock.release()
            return
        self._pending = True
        lock.release()
        self._wake()

    def poke(self) -> None:
        """Wake the reader without an item (something else changed), once per batch."""
        with self._lock:
            if self._pending:
                return
            self._pending = True
        self._wake()

    def drain(self, limit: int | None = None) -> Drained[T]:
        """Take up to ``limit`` items (all by default) and the count of lost ones (reader).

        The next push wakes the reader again once nothing is left; with items remaining
        the buffer stays woken and the reader must drain again.
        """
        with self._lock:
            items = self._items
            if limit is None or limit >= len(items):
                taken = list(items)
                items.clear()
            else:
                taken = [items.popleft() for _ in range(limit)]
            lost, self._lost = self._lost, 0
            remaining = len(items)
            self._pending = remaining > 0
        return Drained(taken, lost, remaining)

    def __len__(self) -> int:
        return len(self._items)
