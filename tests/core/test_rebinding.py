"""DNS rebinding (RELIABILITY.md case 44): the address connected to is the address checked.

A real DNS server on loopback answers for ``rebind.test`` with an allowed address (127.0.0.2, allowed with
``LOOPML_WEBHOOK_ALLOW`` as an operator would allow a private receiver) for the first queries and with
127.0.0.1 afterwards; the product is pointed at it with ``LOOPML_DNS``. A counter server on 127.0.0.1 must
never be called, whatever flips between the check and the connection.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

dns_message = pytest.importorskip("dns.message")
import dns.rdatatype  # noqa: E402
import dns.rrset  # noqa: E402

from loopml.core import net  # noqa: E402
from loopml.errors import BackendError, ValidationError  # noqa: E402

NAME = "rebind.test"


@dataclass
class FlippingDNS:
    """Answers A queries for every name with ``first`` for the first ``flip_after`` queries, then ``then``."""

    first: str
    then: str
    flip_after: int
    queries: list[str] = field(default_factory=list)

    def answer(self, wire: bytes) -> bytes:
        query = dns_message.from_wire(wire)
        reply = dns_message.make_response(query)
        question = query.question[0]
        self.queries.append(f"{question.name.to_text()} {dns.rdatatype.to_text(question.rdtype)}")
        if question.rdtype == dns.rdatatype.A:
            a_queries = sum(q.endswith(" A") for q in self.queries)
            address = self.first if a_queries <= self.flip_after else self.then
            reply.answer.append(dns.rrset.from_text(question.name, 0, "IN", "A", address))
        return reply.to_wire()


@pytest.fixture
def dns_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FlippingDNS]:
    server = FlippingDNS("127.0.0.2", "127.0.0.1", flip_after=2)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                wire, peer = sock.recvfrom(4096)
            except TimeoutError:
                continue
            sock.sendto(server.answer(wire), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    monkeypatch.setenv("LOOPML_DNS", f"127.0.0.1:{sock.getsockname()[1]}")
    monkeypatch.setenv("LOOPML_WEBHOOK_ALLOW", "127.0.0.2/32")
    yield server
    stop.set()
    thread.join(5)
    sock.close()


@dataclass
class Counter:
    """A real HTTP server recording each request's path and Host header."""

    server: HTTPServer
    hits: list[tuple[str, str]] = field(default_factory=list)


def _counter(address: str, port: int) -> Counter:
    hits: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("content-length") or 0))
            hits.append((self.path, self.headers.get("host", "")))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer((address, port), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    return Counter(server, hits)


@pytest.fixture
def receivers() -> Iterator[tuple[int, Counter, Counter]]:
    """The allowed receiver on 127.0.0.2 and the loopback target on 127.0.0.1, on the same port."""
    for _ in range(20):
        loopback = _counter("127.0.0.1", 0)
        port = loopback.server.server_address[1]
        try:
            allowed = _counter("127.0.0.2", port)
        except OSError:
            loopback.server.shutdown()
            continue
        break
    else:
        pytest.skip("could not bind 127.0.0.2 and 127.0.0.1 on one port")
    yield port, allowed, loopback
    for counter in (allowed, loopback):
        counter.server.shutdown()
        counter.server.server_close()


def test_a_name_that_flips_to_loopback_after_the_check_is_never_called_on_loopback(dns_server, receivers):
    port, allowed, loopback = receivers
    url = f"http://{NAME}:{port}/hook"
    assert net.check_url(url) == ["127.0.0.2"]  # when the webhook is created
    assert net.send_json(url, {"event": "x"}) == 204  # resolved once more, checked, connected there
    assert loopback.hits == []
    assert allowed.hits == [("/hook", f"{NAME}:{port}")]
    assert [q for q in dns_server.queries if q.endswith(" A")] == [f"{NAME}. A", f"{NAME}. A"]
    with pytest.raises(ValidationError, match="not a public address"):  # the name now points at loopback
        net.send_json(url, {"event": "y"})
    assert loopback.hits == []


def test_the_connection_never_resolves_the_name_again(receivers, monkeypatch: pytest.MonkeyPatch):
    """The check sees 127.0.0.2 for ``localhost``; the system would say 127.0.0.1 if asked again."""
    port, allowed, loopback = receivers
    monkeypatch.setenv("LOOPML_WEBHOOK_ALLOW", "127.0.0.2/32")
    code = net.send_json(f"http://localhost:{port}/hook", {"event": "x"}, resolve=lambda host: ["127.0.0.2"])
    assert code == 204 and loopback.hits == [] and allowed.hits == [("/hook", f"localhost:{port}")]


def test_event_rule_webhooks_are_pinned(home: Path, dns_server, receivers):
    from loopml import events

    port, allowed, loopback = receivers
    events.put_rule("hook", {"detail-type": ["Alarm State Change"]},
                    [{"type": "webhook", "url": f"http://{NAME}:{port}/hook"}], cooldown_seconds=0)
    events.emit("Alarm State Change", source="loopml.monitor", resource="alarm:a", detail={"state": "ALARM"})
    assert [a.status for a in events.process_events()] == ["SUCCEEDED"]
    events.emit("Alarm State Change", source="loopml.monitor", resource="alarm:a", detail={"state": "OK"})
    (refused,) = events.process_events()
    assert refused.status == "FAILED" and "not a public address" in refused.result["error"]
    assert loopback.hits == [] and allowed.hits == [("/hook", f"{NAME}:{port}")]


def test_async_notifications_are_pinned(dns_server, receivers):
    """The async endpoint's notifier posts through ``asend_json`` on its shared client."""
    import asyncio

    import httpx

    port, allowed, loopback = receivers
    url = f"http://{NAME}:{port}/notify"
    net.check_url(url)

    async def notify_twice() -> None:
        async with httpx.AsyncClient(trust_env=False) as client:
            assert await net.asend_json(client, url, {"event": "async.success"}) == 204
            with pytest.raises(ValidationError):
                await net.asend_json(client, url, {"event": "async.success"})

    asyncio.run(notify_twice())
    assert loopback.hits == [] and allowed.hits == [("/notify", f"{NAME}:{port}")]


def test_https_keeps_the_server_name_for_tls(dns_server, tmp_path: Path):
    """Pinned to 127.0.0.2, the TLS handshake still names ``rebind.test`` (SNI), and the certificate is
    checked (this one is signed by a CA the product does not trust, so the call fails closed)."""
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert(NAME)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    seen: list[str | None] = []
    context.sni_callback = lambda sock, name, ctx: seen.append(name)  # type: ignore[assignment,misc,return-value]
    listener = socket.create_server(("127.0.0.2", 0))
    port = listener.getsockname()[1]

    def accept() -> None:
        conn, _ = listener.accept()
        try:
            context.wrap_socket(conn, server_side=True).close()
        except (ssl.SSLError, OSError):
            pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    with pytest.raises(BackendError):
        net.send_json(f"https://{NAME}:{port}/hook", {"event": "x"})
    thread.join(10)
    listener.close()
    assert seen == [NAME]
