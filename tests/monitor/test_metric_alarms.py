"""Persisted alarms: M of N over stored datapoints, history, and ALARM -> event -> rule -> pipeline run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from loopml import events, monitor
from loopml.errors import ConflictError, ValidationError

T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def _latency_alarm(**kwargs):
    return monitor.put_alarm("p99", source="endpoint:churn", metric="p99_latency_ms", threshold=250,
                             datapoints_to_alarm=3, evaluation_periods=5, period_seconds=60, **kwargs)


def test_m_of_n_periods_must_breach(home):
    _latency_alarm()
    for i, value in enumerate([300, 100, 400, 120, 90]):  # 2 of 5 breach
        monitor.put_metric("endpoint:churn", "p99_latency_ms", value, at=T0 + i * MIN + timedelta(seconds=5))
    assert [t.new_state for t in monitor.evaluate_alarms(now=T0 + 5 * MIN)] == ["OK"]
    monitor.put_metric("endpoint:churn", "p99_latency_ms", 500, at=T0 + 5 * MIN + timedelta(seconds=5))
    assert monitor.evaluate_alarms(now=T0 + 6 * MIN) == []  # 100, 400, 120, 90, 500: still 2 of 5
    monitor.put_metric("endpoint:churn", "p99_latency_ms", 600, at=T0 + 6 * MIN + timedelta(seconds=5))
    (change,) = monitor.evaluate_alarms(now=T0 + 7 * MIN)  # 400, 120, 90, 500, 600: 3 of 5
    assert (change.old_state, change.new_state) == ("OK", "ALARM")
    assert change.datapoints == [400, 120, 90, 500, 600]
    assert [h["new_state"] for h in monitor.alarm_history("p99")] == ["ALARM", "OK"]
    event = events.list_events()[-1]  # every transition emits one; rules match the ALARM ones
    assert event.id == change.event_id and event.detail["previous_state"] == "OK"


def test_period_statistics_and_missing_data(home):
    monitor.put_alarm("errors", source="endpoint:churn", metric="error_rate", threshold=0.05, period_seconds=60,
                      statistic="Average")
    assert monitor.evaluate_alarms(now=T0) == []  # no data: stays INSUFFICIENT_DATA, no event
    for value in (0.0, 0.2):
        monitor.put_metric("endpoint:churn", "error_rate", value, at=T0 + timedelta(seconds=10))
    (change,) = monitor.evaluate_alarms(now=T0 + MIN)
    assert change.new_state == "ALARM" and change.datapoints == [0.1]
    monitor.put_metric("endpoint:churn", "error_rate", float("nan"), at=T0 + MIN + timedelta(seconds=1))
    (change,) = monitor.evaluate_alarms(now=T0 + 2 * MIN)
    assert change.new_state == "INSUFFICIENT_DATA"  # a NaN datapoint is missing, never breaching


def test_alarm_definitions_are_validated(home):
    with pytest.raises(ValidationError, match="datapoints_to_alarm"):
        monitor.put_alarm("a", source="endpoint:x", metric="m", threshold=1, datapoints_to_alarm=4,
                          evaluation_periods=3)
    with pytest.raises(ValidationError, match="statistic"):
        monitor.put_alarm("a", source="endpoint:x", metric="m", threshold=1, statistic="Median")
    monitor.put_alarm("a", source="endpoint:x", metric="m", threshold=1)
    with pytest.raises(ConflictError):
        monitor.put_alarm("a", source="endpoint:x", metric="m", threshold=1)


def test_alarm_event_rule_pipeline_run_is_recorded(home):
    """M of N breaches -> ALARM -> event -> rule -> retraining pipeline run, all linked."""
    monitor.put_alarm("drift", source="schedule:dq", metric="violations", threshold=0, datapoints_to_alarm=2,
                      evaluation_periods=3, period_seconds=3600)
    events.put_rule("retrain-on-drift", {"detail-type": ["Alarm State Change"], "detail": {"state": ["ALARM"]}},
                    [{"type": "pipeline", "pipeline": "tests.monitor.retrain_pipeline:retrain", "wait": True,
                      "executor": "inline", "params": {"reason": "$.detail.alarm"}}], cooldown_seconds=3600)
    for hour, violations in enumerate([0, 2, 3]):
        monitor.put_metric("schedule:dq", "violations", violations, at=T0 + timedelta(hours=hour, minutes=30))
    from loopml.monitor import scheduler

    result = scheduler.tick(now=T0 + timedelta(hours=3))
    (transition,) = result.transitions
    assert transition.new_state == "ALARM"
    (action,) = result.actions
    assert action.event_id == transition.event_id and action.status == "SUCCEEDED"
    from loopml import pipelines

    execution = pipelines.get_execution(action.result["execution_id"])
    assert execution.status == "SUCCEEDED" and execution.params["reason"] == "drift"
    assert events.get_event(action.event_id).detail["alarm"] == "drift"
