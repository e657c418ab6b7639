"""Run the event-action contract over every kind in the table: pipeline, webhook, deploy, log."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from loopml.events.actions import ACTIONS
from loopml.testing.event_action_contract import CONTRACT, ActionCase

P = "loopml.testing._pipelines"


class _Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - the http.server hook name
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(204 if self.path == "/ok" else 500)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A real HTTP server on loopback, allowed as a webhook target for this test."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("LOOPML_WEBHOOK_ALLOW", "127.0.0.1/32")
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _cases(hook: str) -> dict[str, ActionCase]:
    return {
        "pipeline": ActionCase("pipeline", {"type": "pipeline", "pipeline": f"{P}:diamond", "wait": True},
                               {"type": "pipeline", "params": {}},
                               {"type": "pipeline", "pipeline": f"{P}:failing", "wait": True}),
        "webhook": ActionCase("webhook", {"type": "webhook", "url": f"{hook}/ok"},
                              {"type": "webhook", "url": "ftp://example.com/x"},
                              {"type": "webhook", "url": f"{hook}/broken"}),
        "deploy": ActionCase("deploy", {"type": "deploy", "endpoint": "churn", "model": "$.detail.model"},
                             {"type": "deploy", "endpoint": "churn"},
                             {"type": "deploy", "endpoint": "no-such-endpoint", "model": "$.detail.model",
                              "timeout": 5}, succeeds=False),  # success: tests/events with a live endpoint
        "log": ActionCase("log", {"type": "log", "message": "drift", "level": "warning"},
                          {"type": "log", "level": "loud"},
                          None),
    }


KINDS = ["pipeline", "webhook", "deploy", "log"]


@pytest.mark.parametrize("check", CONTRACT, ids=lambda c: c.__name__)
@pytest.mark.parametrize("kind", KINDS)
def test_event_action_contract(kind: str, check, home: Path, receiver: str) -> None:  # noqa: ANN001
    check(_cases(receiver)[kind])


def test_every_kind_in_the_table_is_covered() -> None:
    assert list(ACTIONS) == KINDS, "add a case for the new kind to _cases"
