"""RELIABILITY §3 case 35: SSRF corpus against outbound URLs (webhooks, imports)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from loopml.core.net import check_url, send_json
from loopml.errors import ValidationError

CORPUS = [
    "http://127.0.0.1:{port}/hit", "http://localhost:{port}/hit", "http://2130706433:{port}/hit",
    "http://0x7f000001:{port}/hit", "http://0177.0.0.1:{port}/hit", "http://127.1:{port}/hit",
    "http://0:{port}/hit", "http://0.0.0.0:{port}/hit", "http://[::1]:{port}/hit", "http://[::ffff:127.0.0.1]:{port}/hit",
    "http://[0:0:0:0:0:ffff:7f00:1]:{port}/hit", "http://169.254.169.254/latest/meta-data/",
    "http://[fd00:ec2::254]/latest/meta-data/", "http://metadata.google.internal/", "http://10.0.0.1/",
    "http://192.168.1.1/", "http://172.16.0.1/", "http://100.64.0.1/", "http://[fe80::1]/", "http://224.0.0.1/",
    "file:///etc/passwd", "gopher://127.0.0.1:{port}/", "ftp://127.0.0.1:{port}/a", "http://user:pw@example.com/",
    "http:///hit", "http://127.0.0.1\\@example.com/", "dict://127.0.0.1:{port}/",
]


@pytest.fixture
def counter():  # noqa: ANN201
    hits = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            hits.append(self.path)
            self.send_response(204)
            self.end_headers()

        do_GET = do_POST  # noqa: N815

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield server.server_address[1], hits
    server.shutdown()


def _stub(answer: str):  # noqa: ANN202
    return lambda host: [answer]


@pytest.mark.parametrize("template", CORPUS)
def test_non_public_targets_are_refused_at_creation_and_at_send_time(counter, template):
    port, hits = counter
    url = template.format(port=port)
    with pytest.raises(ValidationError):
        check_url(url, resolve=_stub("127.0.0.1"))
    with pytest.raises(ValidationError):
        send_json(url, {"alarm": "x"}, resolve=_stub("127.0.0.1"))
    assert hits == []


def test_a_name_resolving_to_loopback_is_refused(counter):
    port, hits = counter
    with pytest.raises(ValidationError, match="not a public address"):
        check_url(f"http://hooks.example.com:{port}/hit", resolve=_stub("127.0.0.1"))
    assert hits == []


def test_dns_rebinding_is_caught_by_the_send_time_check(counter):
    port, hits = counter
    answers = iter(["93.184.216.34", "127.0.0.1"])
    resolver = lambda host: [next(answers)]  # noqa: E731
    url = f"http://rebind.example.com:{port}/hit"
    assert check_url(url, resolve=resolver) == ["93.184.216.34"]
    with pytest.raises(ValidationError):
        send_json(url, {"alarm": "x"}, resolve=resolver)
    assert hits == []


def test_public_addresses_pass():
    assert check_url("https://hooks.example.com/x", resolve=_stub("93.184.216.34")) == ["93.184.216.34"]
    assert check_url("https://[2606:4700:4700::1111]/x") == ["2606:4700:4700::1111"]


@pytest.mark.parametrize("template", CORPUS[:12] + ["http://169.254.169.254/latest/meta-data/"])
def test_the_api_refuses_an_endpoint_webhook_to_a_private_address(shared_world, counter, template):
    port, hits = counter
    body = {"name": "churn-live", "model": "churn:1", "mode": "async", "webhook": template.format(port=port)}
    response = shared_world.client.post("/api/v1/endpoints", json=body, headers=shared_world.auth("dana"))
    assert response.status_code == 422 and response.json()["fields"][0]["field"] == "webhook"
    assert not (shared_world.home / "logs").exists() and hits == []
