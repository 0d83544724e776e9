"""Connection and backoff: the link's Redis client, its status, and the writer thread's loop.

``Connection`` makes the client from the URL (refusing a bad URL or an unknown option at
once, with ``LinkError``) and holds where the link stands. ``Writer`` is the writer thread:
it connects, and after a failure reconnects, backing off from 50 ms to half a heartbeat;
while connected it hands each round to shipping (``Shipper.flush``) and, once a heartbeat,
to presence (``Presence.beat``). The reader thread (``_following``) keeps its own connection
from the same pool and backs off with its own ``Backoff``.

Which thread writes what: ``Connection.status`` and ``connected_since`` are written by the
writer thread, and ``status`` once more by ``close()`` after both threads stopped.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any, Literal, Protocol

from mapstore_core._errors import LinkError
from mapstore_core.link._wire import client_name

__all__ = [
    "Backoff",
    "Connection",
    "Heartbeats",
    "LinkStatus",
    "Ships",
    "Told",
    "Writer",
    "redact",
]

logger = logging.getLogger("mapstore_core.link")

LinkStatus = Literal["connecting", "connected", "disconnected", "closed"]

_FIRST_DELAY = 0.05  # seconds before the first retry; doubled after each failure


_PASSWORD_OPTION = re.compile(r"([?&]password=)[^&#]*", re.IGNORECASE)


def redact(url: str) -> str:
    """``url`` without its password (in the user part or a ``password=`` option)."""
    url = _PASSWORD_OPTION.sub(r"\1***", url)
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest.split("?", 1)[0]:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if user else f"{scheme}://***@{host}"


class Backoff:
    """The wait between two tries: 50 ms, doubled after each failure up to ``cap``.

    One per thread; only its thread uses it.
    """

    __slots__ = ("cap", "delay")

    def __init__(self, cap: float) -> None:
        self.cap = cap
        self.delay = _FIRST_DELAY

    def reset(self) -> None:
        """A try went through: the next failure waits the shortest again."""
        self.delay = _FIRST_DELAY

    def wait(self, stop: threading.Event) -> None:
        """Wait the current delay (or until ``stop`` is set), then double it."""
        stop.wait(self.delay)
        self.delay = min(self.delay * 2, self.cap)


class Told:
    """What was told lately, per key (one per thread).

    A problem found in Redis is told once a minute, not at every read or heartbeat that
    finds it again.
    """

    __slots__ = ("_until",)

    def __init__(self) -> None:
        self._until: dict[str, float] = {}

    def due(self, key: str, every: float = 60.0) -> bool:
        """Whether ``key`` may be told now (then it is not again for ``every`` seconds)."""
        now = time.monotonic()
        if self._until.get(key, 0.0) > now:
            return False
        if len(self._until) > 10_000:  # keys name processes and channels: bounded
            self._until.clear()
        self._until[key] = now + every
        return True


class Connection:
    """The link's Redis client and where the link stands (one per link)."""

    def __init__(self, url: str, name: str, heartbeat: float, tell: Callable[[str], None]) -> None:
        """Make the client (it connects lazily, on the threads' first call).

        ``tell`` hands the store a status change (a ``link_status`` event).

        Raises:
            LinkError: the redis extra is missing, or the URL (or one of its options) is bad.
        """
        try:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        except ImportError as exc:
            raise LinkError(
                "store.link() needs the redis extra: pip install 'mapstore[redis]'"
            ) from exc
        self.url = url
        self._name = name
        self._tell = tell
        timeout = max(5.0, 3 * heartbeat)  # a reply of big entries on a loaded machine
        try:
            # Any: redis-py types every reply as a union over its decode modes; this client
            # reads bytes, and every reply is checked where it is used.
            self.client: Any = redis.Redis.from_url(
                url,
                socket_connect_timeout=min(1.0, heartbeat),
                socket_timeout=timeout,
                retry=Retry(NoBackoff(), 0),
                client_name=client_name(name),  # Redis takes only "!" to "~" there
            )
        except ValueError as exc:
            raise LinkError(f"cannot use Redis URL {redact(url)!r}: {exc}") from exc
        try:
            # redis-py hands unknown URL options (a misspelt `ssl_ca_certs`) to the
            # connection class, which would refuse them only when the threads connect, at
            # every retry. Build one connection now (it connects lazily) to refuse them here.
            pool = self.client.connection_pool
            pool.connection_class(**pool.connection_kwargs)
        except (TypeError, ValueError) as exc:
            self.client.close()
            reason = str(exc)
            if "unexpected keyword argument" in reason:
                option = reason.rsplit("argument", 1)[-1].strip()
                reason = f"unknown option {option} (see redis-py's URL options)"
            raise LinkError(f"cannot use Redis URL {redact(url)!r}: {reason}") from exc
        self.errors: tuple[type[Exception], ...] = (redis.RedisError, OSError)
        """What a call to Redis raises when Redis is away, slow or refuses."""
        self.response_error: type[Exception] = redis.ResponseError
        """What Redis refusing a command raises (a key of the wrong type under our prefix)."""
        self._status: LinkStatus = "connecting"  # the writer thread; close() at the end
        self.connected_since: float | None = None  # the writer thread (monotonic clock)

    @property
    def status(self) -> LinkStatus:
        """``connecting``, ``connected``, ``disconnected`` or ``closed``."""
        return self._status

    def set_status(self, status: LinkStatus) -> None:
        """Move to ``status`` (never out of ``closed``) and tell the store once."""
        if self._status == status or self._status == "closed":
            return
        self._status = status
        self._tell(f"link {self._name!r}: {status}")

    def close(self) -> None:
        """Close the client's connections (the threads have stopped)."""
        self.client.close()


class Ships(Protocol):
    """What the writer hands its rounds to: shipping (``_shipping.Shipper``)."""

    def flush(self, until: float) -> bool:
        """Ship what is queued until ``until`` (monotonic); True if some is left."""
        ...

    def beat(self) -> None:
        """Once a heartbeat (keeps the channels set filled in)."""
        ...

    def report_skipped(self) -> None:
        """Tell the store what was skipped (at most once a second)."""
        ...

    def goodbye(self) -> None:
        """Close every local producer over there (the link is closing)."""
        ...

    def idle(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for something to ship."""
        ...

    def redis_lost(self) -> None:
        """Redis lost what it took: send every producer's newest again."""
        ...

    def reconnected(self) -> None:
        """Connected again: send every producer's newest that Redis lacks."""
        ...

    def disconnected(self) -> None:
        """Redis is away: what was in flight may not have arrived."""
        ...


class Heartbeats(Protocol):
    """What the writer heartbeats through: presence (``_presence.Presence``)."""

    @property
    def announced(self) -> int:
        """How many times this process announced itself."""
        ...

    def record_exists(self) -> bool:
        """Whether Redis holds this process's announcement."""
        ...

    def announce(self) -> None:
        """Write this process's announcement and heartbeat."""
        ...

    def beat(self) -> None:
        """Heartbeat, read the fleet, close what went quiet."""
        ...

    def leave(self) -> None:
        """Leave the registry (the link is closing)."""
        ...


class Writer:
    """The writer thread's loop: connect (back off and retry), then ship and heartbeat.

    A flush yields at the next heartbeat, so a flood never starves the beat (and never makes
    this process look dead to the others). An observer has no ``shipper``: it only reads the
    fleet at each beat.
    """

    def __init__(
        self,
        connection: Connection,
        presence: Heartbeats,
        shipper: Ships | None,
        *,
        name: str,
        heartbeat: float,
        stop: threading.Event,
    ) -> None:
        self._connection = connection
        self._presence = presence
        self._shipper = shipper
        self._name = name
        self._heartbeat = heartbeat
        self._stop = stop

    def run(self) -> None:
        """The thread's body: until ``stop`` is set, then a last flush and the goodbye."""
        connection, presence, shipper = self._connection, self._presence, self._shipper
        backoff = Backoff(self._heartbeat / 2)
        next_beat = 0.0
        while True:
            stopping = self._stop.is_set()
            try:
                if connection.status != "connected":
                    self._connect()
                    backoff.reset()
                    next_beat = 0.0
                more = shipper is not None and shipper.flush(until=next_beat) and not stopping
                if time.monotonic() >= next_beat:
                    if shipper is not None:
                        shipper.beat()
                        shipper.report_skipped()
                    presence.beat()
                    next_beat = time.monotonic() + self._heartbeat
                if stopping:
                    if shipper is not None:
                        shipper.flush(until=time.monotonic() + self._heartbeat)
                        shipper.goodbye()
                        presence.leave()
                    return
                if more:
                    continue
            except connection.errors as exc:
                if stopping:
                    return
                self._disconnected(exc)
                backoff.wait(self._stop)
                continue
            except Exception:  # a bug must not kill the link silently: log, then go on
                logger.exception("link %r: writer failed", self._name)
                if stopping:
                    return
                self._stop.wait(self._heartbeat)
                continue
            timeout = max(0.0, min(next_beat - time.monotonic(), self._heartbeat))
            if shipper is not None:
                shipper.idle(timeout)
            else:
                self._stop.wait(timeout)

    def _connect(self) -> None:
        connection, shipper = self._connection, self._shipper
        connection.client.ping()
        if shipper is not None:
            # Back after an outage and our record is gone: Redis restarted empty (or we
            # were away so long that the others closed our producers). Send it all again.
            if self._presence.announced and not self._presence.record_exists():
                shipper.redis_lost()
            self._presence.announce()
            shipper.reconnected()
        connection.connected_since = time.monotonic()
        connection.set_status("connected")

    def _disconnected(self, exc: BaseException) -> None:
        connection = self._connection
        if connection.status != "disconnected":
            logger.warning("link %r: Redis unreachable (%s); retrying", self._name, exc)
        connection.connected_since = None
        if self._shipper is not None:
            self._shipper.disconnected()
        connection.set_status("disconnected")
