"""Persisted alarms (CloudWatch style) over stored metric datapoints; a state change emits an event.

Metrics are datapoints ``(source, metric, value, time)``: monitoring executions publish theirs
(``violations``, ``feature_baseline_drift_<feature>``, model-quality metrics, ``ndcg``, bias metrics)
under ``schedule:<name>`` and ``endpoint:<name>``; :func:`sample_endpoint_metrics` publishes an endpoint's
``invocations``, ``error_rate`` and ``p99_latency_ms``; anyone may call :func:`put_metric`.

:func:`evaluate_alarms` cuts each alarm's last ``evaluation_periods`` periods of ``period_seconds``,
reduces each period with the alarm's statistic (Maximum, Minimum, Average, Sum, SampleCount; an empty
period is missing), and applies :func:`loopml.monitor.evaluate_alarm` (M of N). A transition is recorded
in the alarm's history and emits an ``Alarm State Change`` event in the same transaction.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loopml.core import audit, bus, checks, clock, context, logs, names
from loopml.errors import ConflictError, NotFoundError, ValidationError
from loopml.monitor._tables import alarm_history as history_table
from loopml.monitor._tables import alarms, datapoints
from loopml.monitor.alarms import COMPARISONS, MISSING_TREATMENTS, Alarm, AlarmState, evaluate_alarm

STATISTICS = ("Maximum", "Minimum", "Average", "Sum", "SampleCount")
EVENT_TYPE = "Alarm State Change"

_log = logs.stage_logger("monitor")


@dataclass(frozen=True)
class AlarmInfo:
    """A stored alarm with its current state (read-only view)."""

    name: str
    source: str
    metric: str
    alarm: Alarm
    period_seconds: float
    statistic: str
    state: str
    state_reason: str
    state_updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {"name": self.name, "source": self.source, "metric": self.metric, **asdict(self.alarm),
                "period_seconds": self.period_seconds, "statistic": self.statistic, "state": self.state,
                "state_reason": self.state_reason, "state_updated_at": self.state_updated_at.isoformat()}


@dataclass(frozen=True)
class Transition:
    """One alarm state change."""

    alarm: str
    old_state: str
    new_state: str
    reason: str
    datapoints: list[float | None]
    event_id: str | None


PUT_ALARM_CONSTRAINTS: dict[str, list[checks.Constraint]] = {
    "source": [checks.Typed(str, "str")], "metric": [checks.Typed(str, "str")],
    "comparison": [checks.Options(*sorted(COMPARISONS))],
    "datapoints_to_alarm": [checks.Interval(int, 1, 10_000)], "evaluation_periods": [checks.Interval(int, 1, 10_000)],
    "period_seconds": [checks.Interval(float, 0, checks.TEN_YEARS, closed="right")],
    "statistic": [checks.Options(*STATISTICS)], "treat_missing_data": [checks.Options(*MISSING_TREATMENTS)],
    "replace": [checks.Typed(bool, "bool")],
}
"""What :func:`put_alarm` accepts (the threshold: any finite number; the name: :mod:`loopml.core.names`)."""


@checks.validate_params(PUT_ALARM_CONSTRAINTS)
def put_alarm(
    name: str,
    *,
    source: str,
    metric: str,
    threshold: float,
    comparison: str = "GreaterThanThreshold",
    datapoints_to_alarm: int = 1,
    evaluation_periods: int = 1,
    period_seconds: float = 300.0,
    statistic: str = "Maximum",
    treat_missing_data: str = "missing",
    replace: bool = False,
) -> AlarmInfo:
    """Create (or, with ``replace``, redefine) an alarm; it starts in ``INSUFFICIENT_DATA``.

    Args:
        name: Unique alarm name.
        source: ``endpoint:<name>``, ``schedule:<name>`` or any source datapoints are put under.
        metric: e.g. ``p99_latency_ms``, ``error_rate``, ``invocations``, ``violations``, ``accuracy``.
        threshold: Compared with each period's value.
        comparison: ``GreaterThanThreshold`` and the other CloudWatch operators.
        datapoints_to_alarm: M breaching periods needed ...
        evaluation_periods: ... out of the last N.
        period_seconds: Length of one period.
        statistic: How a period's datapoints are reduced: Maximum, Minimum, Average, Sum, SampleCount.
        treat_missing_data: ``missing``, ``ignore``, ``breaching`` or ``notBreaching``.
        replace: Overwrite an existing alarm instead of raising ``ConflictError``.
    """
    alarm = Alarm(metric, checks.number(threshold, "threshold"), comparison,
                  checks.integer(datapoints_to_alarm, "datapoints_to_alarm", low=1, high=10_000),
                  checks.integer(evaluation_periods, "evaluation_periods", low=1, high=10_000), treat_missing_data)
    if statistic not in STATISTICS:
        raise ValidationError(f"statistic {statistic!r} is not one of {list(STATISTICS)}", statistic=statistic)
    period_seconds = checks.number(period_seconds, "period_seconds", above=0, high=checks.TEN_YEARS)
    names.check("alarm", name, example="churn-p99-latency")
    if not source:
        raise ValidationError("an alarm needs a source (e.g. 'endpoint:churn')")
    definition = {**asdict(alarm), "period_seconds": float(period_seconds), "statistic": statistic}
    now, user = clock.now(), context.current_user()
    with context.get_db().write() as conn:
        exists = conn.execute(sa.select(alarms.c.name).where(alarms.c.name == name)).first() is not None
        if exists and not replace:
            raise ConflictError(f"alarm {name!r} exists; pass replace=True to redefine it", alarm=name)
        conn.execute(alarms.delete().where(alarms.c.name == name))
        conn.execute(alarms.insert().values(
            name=name, source=source, metric=metric, definition=definition, state=AlarmState.INSUFFICIENT_DATA.value,
            state_reason="created", state_updated_at=now, created_by=user, created_at=now))
        audit.append(conn, actor=user, action="alarm.put", resource=f"alarm:{name}",
                     details={"source": source, **definition})
    return get_alarm(name)


def get_alarm(name: str) -> AlarmInfo:
    """A stored alarm (raises ``NotFoundError``)."""
    with context.get_db().read() as conn:
        row = conn.execute(sa.select(alarms).where(alarms.c.name == name)).first()
    if row is None:
        raise NotFoundError(f"no alarm {name!r}; list them with 'loopml alarms list'", alarm=name)
    return _info(row)


@checks.validate_params({"state": [checks.Options(*(s.value for s in AlarmState)), checks.NONE]})
def list_alarms(*, state: str | None = None) -> list[AlarmInfo]:
    """Alarms by name, optionally only those in ``state``."""
    query = sa.select(alarms).order_by(alarms.c.name)
    if state:
        query = query.where(alarms.c.state == state)
    with context.get_db().read() as conn:
        return [_info(r) for r in conn.execute(query)]


def delete_alarm(name: str) -> None:
    """Delete an alarm (its history stays)."""
    get_alarm(name)
    with context.get_db().write() as conn:
        conn.execute(alarms.delete().where(alarms.c.name == name))
        audit.append(conn, actor=context.current_user(), action="alarm.delete", resource=f"alarm:{name}")


@checks.validate_params({"limit": [checks.Interval(int, 1, checks.MAX_PAGE)]})
def alarm_history(name: str, *, limit: int = 50) -> list[dict[str, Any]]:
    """State transitions of an alarm, newest first."""
    query = sa.select(history_table).where(history_table.c.alarm == name) \
        .order_by(history_table.c.id.desc()).limit(limit)
    with context.get_db().read() as conn:
        return [{"old_state": r.old_state, "new_state": r.new_state, "reason": r.reason,
                 "datapoints": r.datapoints, "at": clock.as_utc(r.at).isoformat()} for r in conn.execute(query)]


def put_metric(source: str, metric: str, value: float | None, *, at: datetime | None = None,
               conn: Connection | None = None) -> None:
    """Record one datapoint (``None``/NaN records a missing value, which never breaches)."""
    if value is not None and (not isinstance(value, int | float) or math.isnan(float(value))):
        value = None
    row = dict(source=source, metric=metric, value=None if value is None else float(value), at=at or clock.now())
    if conn is not None:
        conn.execute(datapoints.insert().values(**row))
        return
    with context.get_db().write() as own:
        own.execute(datapoints.insert().values(**row))


def metric_series(source: str, metric: str, *, since: datetime | None = None) -> list[tuple[datetime, float | None]]:
    """Datapoints of one metric, oldest first."""
    query = sa.select(datapoints.c.at, datapoints.c.value).where(
        datapoints.c.source == source, datapoints.c.metric == metric).order_by(datapoints.c.at)
    if since is not None:
        query = query.where(datapoints.c.at >= since)
    with context.get_db().read() as conn:
        return [(clock.as_utc(r.at), r.value) for r in conn.execute(query)]


def period_values(info: AlarmInfo, now: datetime) -> list[float | None]:
    """The alarm's last ``evaluation_periods`` period values (oldest first; None = missing)."""
    n, width = info.alarm.evaluation_periods, timedelta(seconds=info.period_seconds)
    start = now - n * width
    buckets: list[list[float]] = [[] for _ in range(n)]
    for at, value in metric_series(info.source, info.metric, since=start):
        index = int((at - start) / width)
        if value is not None and 0 <= index < n:
            buckets[index].append(value)
    return [_reduce(values, info.statistic) for values in buckets]


def evaluate_alarms(*, now: datetime | None = None, names: list[str] | None = None) -> list[Transition]:
    """Evaluate every alarm (or ``names``) at ``now``; record and return the state changes."""
    now = clock.as_utc(now or clock.now())
    changes = []
    for info in list_alarms():
        if names is None or info.name in names:
            change = _evaluate(info, now)
            if change is not None:
                changes.append(change)
    return changes


def _evaluate(info: AlarmInfo, now: datetime) -> Transition | None:
    values = period_values(info, now)
    state = evaluate_alarm(info.alarm, values, previous_state=info.state).value
    if state == info.state:
        return None
    reason = (f"{sum(1 for v in values if v is not None and info.alarm.is_breaching(v))} of the last "
              f"{len(values)} periods breached {info.alarm.comparison} {info.alarm.threshold} (values {values})")
    with context.get_db().write() as conn:
        updated = conn.execute(alarms.update().where(alarms.c.name == info.name, alarms.c.state == info.state)
                               .values(state=state, state_reason=reason, state_updated_at=now)).rowcount
        if not updated:
            return None  # another evaluator moved it first
        conn.execute(history_table.insert().values(alarm=info.name, old_state=info.state, new_state=state,
                                                   reason=reason, datapoints=values, at=now))
        event = bus.emit(EVENT_TYPE, source="loopml.monitor", resource=f"alarm:{info.name}", conn=conn, detail={
            "alarm": info.name, "state": state, "previous_state": info.state, "reason": reason,
            "source": info.source, "metric": info.metric, "datapoints": values})
    logs.log_event(_log, "alarm.state", alarm=info.name, previous=info.state, state=state, reason=reason)
    return Transition(info.name, info.state, state, reason, values, event.id)


#: What :func:`sample_endpoint_metrics` publishes for an endpoint (its history, and what alarms can watch).
ENDPOINT_METRICS = ("invocations", "error_rate", "p50_latency_ms", "p99_latency_ms")
#: An endpoint no alarm watches is still sampled this often, so its figures have a history.
HISTORY_SECONDS = 60.0


def endpoints_due_for_history(now: datetime) -> list[str]:
    """Running endpoints whose last sample is older than :data:`HISTORY_SECONDS` (or that have none)."""
    from loopml import serve

    due = []
    for summary in serve.list_endpoints():
        if summary["status"] != "InService":
            continue
        last = metric_series(f"endpoint:{summary['name']}", "_requests_total",
                             since=now - timedelta(seconds=HISTORY_SECONDS))
        if not last:
            due.append(summary["name"])
    return due


def sample_endpoint_metrics(endpoint: str, *, now: datetime | None = None) -> dict[str, float | None]:
    """Publish an endpoint's live ``invocations`` (since the last sample), ``error_rate``, ``p50_latency_ms`` and
    ``p99_latency_ms`` (the slowest variant's), and ``cold_start_s`` (the latest measured cold start), which
    ``loopml endpoint advise`` reads."""
    from loopml import serve

    live = (serve.describe(endpoint).get("live") or {}).get("variants") or []
    requests = sum(int(v.get("requests") or 0) for v in live)
    errors = sum(int(v.get("errors_5xx") or 0) for v in live)
    p50 = [v["p50_ms"] for v in live if v.get("p50_ms") is not None]
    p99 = [v["p99_ms"] for v in live if v.get("p99_ms") is not None]
    source = f"endpoint:{endpoint}"
    previous = metric_series(source, "_requests_total")
    prev_req = previous[-1][1] if previous else 0.0
    previous_errors = metric_series(source, "_errors_total")
    prev_err = previous_errors[-1][1] if previous_errors else 0.0
    delta = max(0.0, requests - (prev_req or 0.0))
    err_delta = max(0.0, errors - (prev_err or 0.0))
    figures = {"invocations": delta, "error_rate": (err_delta / delta) if delta else None,
               "p50_latency_ms": max(p50) if p50 else None, "p99_latency_ms": max(p99) if p99 else None}
    colds = [float(c) for v in live for c in (v.get("cold_starts_s") or [])]
    if colds:
        figures["cold_start_s"] = colds[-1]
    at = now or clock.now()
    with context.get_db().write() as conn:
        for metric, value in {**figures, "_requests_total": requests, "_errors_total": errors}.items():
            put_metric(source, metric, value, at=at, conn=conn)
    return figures


def _reduce(values: list[float], statistic: str) -> float | None:
    if statistic == "SampleCount":
        return float(len(values))
    if not values:
        return None
    if statistic == "Maximum":
        return max(values)
    if statistic == "Minimum":
        return min(values)
    if statistic == "Sum":
        return float(sum(values))
    return float(sum(values) / len(values))


def _info(row: Any) -> AlarmInfo:
    d = dict(row.definition)
    alarm = Alarm(d["metric"], d["threshold"], d["comparison"], d["datapoints_to_alarm"], d["evaluation_periods"],
                  d["treat_missing_data"])
    return AlarmInfo(row.name, row.source, row.metric, alarm, float(d["period_seconds"]), d["statistic"], row.state,
                     row.state_reason, clock.as_utc(row.state_updated_at))
