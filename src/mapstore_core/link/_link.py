"""``StoreLink``: one store shared across processes and machines through Redis.

The facade, and the wiring of four parts, each in its own module and owned by one thread:

================  ===================================================  ====================
module            concern                                              thread
================  ===================================================  ====================
``_connection``   the Redis client, status, connecting and backoff;    the writer
                  the writer's loop
``_presence``     announcement, heartbeats on Redis's clock, the       the writer
                  fleet tracker feeding ``StorePort.fleet``, reaping
``_shipping``     the sink's queue, slices, flood mode (coalescing),   publishers (the
                  the ``latest`` hash                                  sink); the writer
``_following``    joining channels, ``XREAD``, decoding, applying      the reader
                  through the port, re-sends and gaps
================  ===================================================  ====================

``_wire`` is the format they share (keys, the versioned envelope around events in their
one JSON form), ``_fleet`` the fleet's tracker and rules. The link reaches its store only
through a ``StorePort``; nothing here imports Redis until a link is made.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from types import TracebackType
from typing import Any, Self

from mapstore_core._errors import LinkError
from mapstore_core._port import StorePort
from mapstore_core._public import public
from mapstore_core._records import ProcessInfo
from mapstore_core.link._connection import Connection, LinkStatus, Writer, redact
from mapstore_core.link._following import Follower
from mapstore_core.link._presence import Presence, live_namespaces
from mapstore_core.link._shipping import Shipper
from mapstore_core.link._wire import Keys, check_name, check_namespace, entry_prefix

__all__ = ["LinkStatus", "StoreLink", "default_name"]


def default_name() -> str:
    """``"<host>:<pid>"``: how other processes name this one unless told otherwise."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _ignore(producer: Any, op: str, payload: Any, timestamp: float) -> None:
    """An observer's sink: it publishes nothing, a local change stays in its own store."""


@public
class StoreLink:
    """A store's link to the other stores of a namespace on one Redis (``store.link()``).

    ``status`` says where the link stands, ``stats()`` what it has done, ``close()`` ends it
    (idempotent; ``with store.link(...) as link:`` closes on exit). Closing tells the other
    processes that this one's producers are gone and closes theirs in this store.
    """

    def __init__(
        self,
        port: StorePort,
        url: str,
        *,
        namespace: str = "mapstore",
        name: str | None = None,
        heartbeat: float = 1.0,
        max_queue: int = 10_000,
        observer: bool = False,
    ) -> None:
        try:
            self.namespace = check_namespace(namespace)
            self.name = check_name(name if name is not None else default_name())
        except ValueError as exc:
            raise LinkError(str(exc)) from exc
        if not heartbeat > 0:
            raise LinkError(f"heartbeat must be > 0 seconds, not {heartbeat!r}")
        if max_queue < 1:
            raise LinkError(f"max_queue must be >= 1, not {max_queue!r}")
        self.url = url
        self.observer = observer
        self.heartbeat = float(heartbeat)
        self.incarnation = secrets.token_hex(6)
        self._port = port
        keys = Keys(self.namespace)
        self._connection = connection = Connection(
            url, self.name, self.heartbeat, lambda message: port.news("link_status", message)
        )
        self._stop = threading.Event()  # set once, by close()
        self._close_lock = threading.Lock()
        wake = threading.Event()
        self._wake = wake  # close() sets it too: the writer must not sleep through it
        self._shipper = (
            None
            if observer
            else Shipper(
                connection,
                port,
                keys,
                name=self.name,
                incarnation=self.incarnation,
                heartbeat=self.heartbeat,
                max_queue=max_queue,
                stop=self._stop,
                wake=wake,
            )
        )
        self._follower: Follower
        self._presence = presence = Presence(
            connection,
            port,
            keys,
            name=self.name,
            incarnation=self.incarnation,
            heartbeat=self.heartbeat,
            observer=observer,
            counters=self.stats,
            on_lost=self._shipper.redis_lost_now if self._shipper is not None else _nothing,
            on_gone=lambda process: self._follower.forget_later(process),
        )
        self._follower = Follower(
            connection,
            port,
            keys,
            name=self.name,
            own_prefix=entry_prefix(self.name, self.incarnation),
            heartbeat=self.heartbeat,
            observer=observer,
            stop=self._stop,
            clock_offset=lambda: presence.offset_ms,
            retire=presence.retire,
        )
        try:
            current = port.attach(_ignore if self._shipper is None else self._shipper.sink)
        except LinkError:
            connection.close()
            raise
        if self._shipper is not None:
            self._shipper.adopt(current)
        writer = Writer(
            connection,
            presence,
            self._shipper,
            name=self.name,
            heartbeat=self.heartbeat,
            stop=self._stop,
        )
        self._writer = threading.Thread(
            target=writer.run, name=f"mapstore-link-writer:{self.name}", daemon=True
        )
        self._reader = threading.Thread(
            target=self._follower.run, name=f"mapstore-link-reader:{self.name}", daemon=True
        )
        self._writer.start()
        self._reader.start()

    @property
    def status(self) -> LinkStatus:
        """``connecting`` (never reached Redis yet), ``connected``, ``disconnected``, ``closed``."""
        return self._connection.status

    def stats(self) -> dict[str, float]:
        """What the link has done so far.

        ``sent``: updates Redis took (a write it refused is not sent: the newest goes
        again); ``received``: remote updates applied here; ``coalesced``: local updates
        skipped under pressure (a newer one of the same producer went instead);
        ``dropped``: updates read that were malformed, foreign, oversized or of a run their
        process did not announce, and local updates that cannot be JSON or are too big to
        send (each counted once per update); ``rejected``: remote payloads
        this store's model refused; ``queue``: local updates waiting for Redis; ``lag_ms``:
        how long the last entry read had waited in Redis (Redis's clock).
        """
        shipped = self._shipper.counts if self._shipper is not None else _NOTHING_SHIPPED
        read = self._follower.counts
        return {
            "sent": shipped["sent"],
            "received": read["received"],
            "coalesced": shipped["coalesced"],
            "dropped": shipped["dropped"] + read["dropped"],
            "rejected": read["rejected"],
            "queue": self._shipper.queued if self._shipper is not None else 0,
            "lag_ms": round(self._follower.lag_ms, 3),
        }

    def close(self) -> None:
        """Say goodbye on Redis (best effort), stop the threads, close remote producers.

        Idempotent. The other stores close this process's producers at once, with the
        reason; this store closes those of the other processes.
        """
        with self._close_lock:
            if self._connection.status == "closed" or self._stop.is_set():
                return
            self._stop.set()
            self._wake.set()
        self._writer.join(timeout=max(5.0, 3 * self.heartbeat))
        self._reader.join(timeout=max(5.0, 3 * self.heartbeat))
        self._port.detach(f"link of process {self.name!r} closed")
        self._follower.reset()
        self._connection.set_status("closed")
        self._connection.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"<StoreLink {self.name!r} namespace={self.namespace!r} "
            f"{redact(self.url)} {self.status}>"
        )

    @property
    def coalescing(self) -> bool:
        """True while publishes outrun the link (its queue filled up), or Redis is away.

        Meanwhile it no longer ships every update: every 20 ms it sends each producer's
        newest (when Redis is back, for an outage), and counts the rest as ``coalesced``. It
        ships every update again once fewer than a tenth of ``max_queue`` arrive in 20 ms.
        """
        return self._shipper is not None and self._shipper.flooding

    @property
    def url_redacted(self) -> str:
        """The Redis URL without its password, for messages."""
        return redact(self.url)

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until the link has read the namespace once; False if ``timeout`` ran out.

        Ready means: the processes and every channel's current values and recent history are
        in the store. For scripts that read once and exit (``log-producers --attach``).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        for event in (self._follower.read_once, self._presence.seen_once):
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not event.wait(left):
                return False
        return True

    def live_namespaces(self, limit: int = 5) -> tuple[list[str], bool] | None:
        """Other namespaces at this Redis with a live process, and whether there are more.

        Up to ``limit`` names, sorted; None when Redis cannot be asked now. It asks Redis (a
        bounded ``SCAN`` and a read per namespace found) on the calling thread, for messages
        such as "nothing linked to this namespace; these have live processes": never call
        it on a UI thread. Odd keys under ``mapstore:`` are skipped, never raised.
        """
        connection = self._connection
        try:
            return live_namespaces(
                connection.client,
                connection.response_error,
                limit=limit,
                exclude=self.namespace,
            )
        except connection.errors:
            return None  # policy: no hint rather than an error about a hint

    def processes(self) -> list[ProcessInfo]:
        """Every process of the namespace (this one included, unless an observer).

        Alive ones first, then the gone ones (kept ``GONE_FOR`` seconds, with their producers'
        last values as ``stale``). Updated at every heartbeat, on Redis's clock.
        """
        return self._presence.processes()


_NOTHING_SHIPPED = {"sent": 0, "coalesced": 0, "dropped": 0}


def _nothing() -> None:
    """An observer's presence never finds its own record lost: it writes none."""
