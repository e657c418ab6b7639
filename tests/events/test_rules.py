"""Event rules: patterns, actions recorded with their event, the cooldown, concurrency, and SSRF refusal."""

from __future__ import annotations

import http.server
import json
import threading
from datetime import UTC, datetime, timedelta

import pytest

from loopml import events
from loopml.errors import ConflictError, ValidationError

ALARM = {"detail-type": ["Alarm State Change"], "detail": {"state": ["ALARM"]}}
LOG = [{"type": "log", "message": "drift detected"}]


def _alarm(state: str = "ALARM", alarm: str = "drift") -> events.Event:
    return events.emit("Alarm State Change", source="loopml.monitor", resource=f"alarm:{alarm}",
                       detail={"alarm": alarm, "state": state, "violations": 3})


@pytest.mark.parametrize(("pattern", "expected"), [
    ({"detail-type": ["Alarm State Change"]}, True),
    ({"detail": {"state": ["OK"]}}, False),
    ({"resources": [{"prefix": "alarm:dr"}]}, True),
    ({"detail": {"alarm": [{"anything-but": ["drift"]}]}}, False),
    ({"detail": {"violations": [{"numeric": [">", 2, "<=", 3]}]}}, True),
    ({"detail": {"missing": [{"exists": False}]}}, True),
    ({"source": ["loopml.serve"], "detail-type": ["Alarm State Change"]}, False),
])
def test_eventbridge_patterns(home, pattern, expected):
    assert events.matches(pattern, _alarm()) is expected


def test_bad_rules_are_refused(home):
    with pytest.raises(ValidationError, match="non-empty list"):
        events.put_rule("r", {"detail-type": "Alarm State Change"}, LOG)
    with pytest.raises(ValidationError, match="type"):
        events.put_rule("r", ALARM, [{"type": "shell", "command": "rm -rf /"}])
    with pytest.raises(ValidationError, match="lowercase"):
        events.put_rule("Bad Name", ALARM, LOG)
    with pytest.raises(ValidationError, match="endpoint"):
        events.put_rule("r", ALARM, [{"type": "deploy", "model": "churn@approved"}])
    events.put_rule("r", ALARM, LOG)
    with pytest.raises(ConflictError):
        events.put_rule("r", ALARM, LOG)


def test_each_action_is_recorded_with_the_event_that_caused_it(home):
    events.put_rule("log-drift", ALARM, LOG, cooldown_seconds=0)
    ok, fired = _alarm("OK"), _alarm("ALARM")
    taken = events.process_events()
    assert [(a.event_id, a.kind, a.status) for a in taken] == [(fired.id, "log", "SUCCEEDED")]
    assert events.list_actions(event_id=ok.id) == []
    line = json.loads((home / "logs" / "events.log").read_text().splitlines()[-1])
    assert line["event"] == fired.id and line["message"] == "drift detected"
    assert events.process_events() == []  # the cursor moved on: nothing is acted on twice


def test_cooldown_prevents_a_retraining_storm(home):
    events.put_rule("retrain", ALARM, LOG, cooldown_seconds=3600)
    start = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    for minute in range(10):
        _alarm()
        events.process_events(now=start + timedelta(minutes=minute))
    statuses = [a.status for a in reversed(events.list_actions(rule="retrain"))]
    assert statuses == ["SUCCEEDED"] + ["SKIPPED_COOLDOWN"] * 9
    _alarm()
    later = events.process_events(now=start + timedelta(hours=1, minutes=1))
    assert [a.status for a in later] == ["SUCCEEDED"]


def _process_in_thread(results: list) -> None:
    results.extend(events.process_events())


def test_two_processors_never_act_twice_on_one_event(home):
    events.put_rule("log-drift", ALARM, LOG, cooldown_seconds=0)
    for _ in range(20):
        _alarm()
    results: list = []
    threads = [threading.Thread(target=_process_in_thread, args=(results,)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    keys = [(a.event_id, a.action_index) for a in events.list_actions(limit=1000)]
    assert len(keys) == len(set(keys)) == 20


class _Counter(http.server.BaseHTTPRequestHandler):
    hits: list = []

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers["content-length"])
        _Counter.hits.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:  # noqa: ANN002
        pass


@pytest.fixture
def receiver():
    _Counter.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


SSRF = ["http://127.0.0.1:{port}/hook", "http://localhost:{port}/hook", "http://2130706433:{port}/hook",
        "http://0x7f000001:{port}/hook", "http://[::1]:{port}/hook", "http://[::ffff:127.0.0.1]:{port}/hook",
        "http://169.254.169.254/latest/meta-data/", "http://10.0.0.5/hook", "http://192.168.1.1/hook",
        "http://0.0.0.0:{port}/hook", "ftp://example.com/x", "file:///etc/passwd", "http://user:pw@example.com/"]


@pytest.mark.parametrize("url", SSRF)
def test_webhooks_to_internal_addresses_are_refused_at_creation(home, receiver, url):
    with pytest.raises(ValidationError):
        events.put_rule("hook", ALARM, [{"type": "webhook", "url": url.format(port=receiver)}])
    assert _Counter.hits == []


def test_webhook_is_rechecked_at_send_time(home, receiver, monkeypatch):
    url = f"http://127.0.0.1:{receiver}/hook"
    monkeypatch.setenv("LOOPML_WEBHOOK_ALLOW", "127.0.0.1/32")
    events.put_rule("hook", ALARM, [{"type": "webhook", "url": url}], cooldown_seconds=0)
    fired = _alarm()
    assert [a.status for a in events.process_events()] == ["SUCCEEDED"]
    assert _Counter.hits[0]["id"] == fired.id and _Counter.hits[0]["detail"]["state"] == "ALARM"
    monkeypatch.delenv("LOOPML_WEBHOOK_ALLOW")  # as if DNS now pointed somewhere internal
    _alarm()
    (action,) = events.process_events()
    assert action.status == "FAILED" and "loopback" in action.result["error"]
    assert len(_Counter.hits) == 1


def test_an_event_is_acted_on_once_on_every_database(any_home):
    """On PostgreSQL a claim that lost to an existing row once read as won (the insert's row count is -1
    there): the rules' cursor never advanced, old events were acted on again, and recording the outcome of
    the phantom claim failed with NoResultFound (``make demo-team`` stopped in step 7)."""
    events.put_rule("log-drift", ALARM, LOG, cooldown_seconds=0)
    _alarm()
    first = events.process_events()
    assert [a.status for a in first] == ["SUCCEEDED"]
    _alarm("OK")  # a later event that matches no rule: the first one must not be acted on again
    assert events.process_events() == []
    assert events.process_events() == []
    assert [a.id for a in events.list_actions(rule="log-drift")] == [first[0].id]
