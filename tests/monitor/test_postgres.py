"""The service on the real PostgreSQL server: schedules, slots, executions, alarms, events and rules."""

from __future__ import annotations

from datetime import timedelta

from loopml import events, monitor
from loopml.core import clock
from loopml.monitor import scheduler
from tests.monitor.capture_helpers import records_for
from tests.monitor.conftest import make_frame


def test_loop_on_postgresql(home, pg_url, monkeypatch):
    from loopml.config import reset_settings

    monkeypatch.setenv("LOOPML_DB", pg_url)
    reset_settings()
    b = monitor.create_baseline(make_frame(1000, 1))
    monitor.create_monitoring_schedule("dq", "ep", statistics=b.statistics_digest, constraints=b.constraints_digest,
                                       interval_seconds=600, check_signature=False)
    now = clock.now()
    window = make_frame(300, 2).assign(plan="enterprise")
    ex = monitor.run_monitor("dq", window_start=now - timedelta(minutes=10), window_end=now,
                             records=records_for(window, now - timedelta(minutes=5)))
    assert ex.result == "violations"
    monitor.put_alarm("drift", source="schedule:dq", metric="violations", threshold=0, period_seconds=600)
    events.put_rule("log-drift", {"detail": {"state": ["ALARM"]}}, [{"type": "log", "message": "drift"}])
    first = scheduler.tick(now=now + timedelta(seconds=1), owner="a")
    assert len(first.ran) == 1 and [t.new_state for t in first.transitions] == ["ALARM"]
    assert [a.status for a in first.actions] == ["SUCCEEDED"]
    assert scheduler.tick(now=now + timedelta(seconds=2), owner="b").ran == []
    from loopml.core import context

    assert context.get_db().dialect == "postgresql"
