"""Monitoring executions: run one monitor over one window of an endpoint's captured traffic.

:func:`run_monitor` reads the capture records whose ``inferenceTime`` falls in ``[window_start,
window_end)``, runs the schedule's check (data quality, model quality, bias drift or feature-attribution
drift), stores the report and ``constraint_violations.json`` as artifacts, records a
:class:`MonitoringExecution`, and publishes its metrics for alarms. A window with too little data is
``insufficient_data`` (status ``Completed``, no violations, metrics missing) and never a drift alarm.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from loopml.core import audit, checks, clock, context, ids, integrity, logs
from loopml.errors import LoopmlError, NotFoundError
from loopml.monitor import _checks_service, _window
from loopml.monitor._tables import executions
from loopml.monitor.files import CONSTRAINTS_FILE, STATISTICS_FILE, VIOLATIONS_FILE, _json_safe, write_json
from loopml.monitor.metric_alarms import put_metric
from loopml.monitor.schedules import Schedule, get_schedule

_log = logs.stage_logger("monitor")


@dataclass(frozen=True)
class MonitoringExecution:
    """One monitoring run (read-only view).

    Attributes:
        id: ``mex_…``.
        schedule: The schedule's name (None for an ad-hoc run).
        endpoint: The endpoint monitored.
        monitor_type: ``data_quality``, ``model_quality``, ``bias_drift`` or ``attribution_drift``.
        window_start: Start of the window (inclusive, UTC).
        window_end: End of the window (exclusive, UTC).
        status: ``Completed``, ``CompletedWithViolations`` or ``Failed`` (Model Monitor's statuses).
        result: ``ok``, ``violations``, ``insufficient_data`` or ``failed``.
        item_count: Rows checked.
        violations: Number of violations.
        metrics: Published figures (e.g. per-feature distances, model metrics, unknown ground-truth ids).
        report_digest: ``sha256:…`` of the report JSON.
        violations_digest: ``sha256:…`` of ``constraint_violations.json``.
        message: What went wrong, or why the data was insufficient.
        created_at: When it ran.
    """

    id: str
    schedule: str | None
    endpoint: str
    monitor_type: str
    window_start: datetime
    window_end: datetime
    status: str
    result: str
    item_count: int
    violations: int
    metrics: dict[str, Any]
    report_digest: str | None
    violations_digest: str | None
    message: str | None
    created_at: datetime

    def _repr_html_(self) -> str:
        from loopml.core.fragments import notebook
        from loopml.monitor.html import render_monitoring_execution

        return notebook(render_monitoring_execution(self, read_report(self, violations=True)))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        out = dict(self.__dict__)
        for key in ("window_start", "window_end", "created_at"):
            out[key] = out[key].isoformat()
        return out


def run_monitor(
    schedule: Schedule | str,
    *,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    records: list[dict[str, Any]] | None = None,
    execution_id: str | None = None,
) -> MonitoringExecution:
    """Run a monitoring schedule's check over one window and record the execution.

    Args:
        schedule: A :class:`Schedule` or its name (kind ``monitor``).
        window_start: Start of the window; default ``window_end`` minus the schedule's ``window_seconds``.
        window_end: End of the window; default now.
        records: Capture records to use instead of the endpoint's stored capture (tests, replays).
        execution_id: The id to record under; a second run with the same id returns the first record
            (the scheduler derives it from the slot, so a re-run slot records one execution).

    Returns:
        The recorded :class:`MonitoringExecution`; a check that fails is recorded as ``Failed`` with its
        message rather than raised.
    """
    sched = get_schedule(schedule) if isinstance(schedule, str) else schedule
    if sched.kind != "monitor":
        raise NotFoundError(f"schedule {sched.name!r} is a {sched.kind} schedule, not a monitoring schedule")
    if execution_id is not None:
        existing = _find(execution_id)
        if existing is not None:
            return existing
    end = clock.as_utc(window_end or clock.now())
    start = clock.as_utc(window_start or end - timedelta(seconds=float(sched.config["window_seconds"])))
    try:
        outcome = _checks_service.run_check(sched, _window.read_window(sched, start, end, records))
    except LoopmlError as exc:
        outcome = _checks_service.Outcome("failed", 0, [], {}, {"error": exc.message}, exc.message)
    return _record(sched, start, end, outcome, execution_id or ids.new_id("mex"))


def list_executions(*, schedule: str | None = None, endpoint: str | None = None,
                    limit: int = 50) -> list[MonitoringExecution]:
    """Executions, newest window first."""
    limit, _ = checks.page(limit)
    query = sa.select(executions).order_by(executions.c.window_end.desc(), executions.c.created_at.desc())
    if schedule:
        query = query.where(executions.c.schedule == schedule)
    if endpoint:
        query = query.where(executions.c.endpoint == endpoint)
    with context.get_db().read() as conn:
        return [_execution(r) for r in conn.execute(query.limit(limit))]


def _find(execution_id: str) -> MonitoringExecution | None:
    with context.get_db().read() as conn:
        row = conn.execute(sa.select(executions).where(executions.c.id == execution_id)).first()
    return _execution(row) if row is not None else None


def get_execution(execution_id: str) -> MonitoringExecution:
    """One execution by id (raises ``NotFoundError``)."""
    with context.get_db().read() as conn:
        row = conn.execute(sa.select(executions).where(executions.c.id == execution_id)).first()
    if row is None:
        raise NotFoundError(f"no monitoring execution {execution_id!r}", execution=execution_id)
    return _execution(row)


def read_report(execution: MonitoringExecution, *, violations: bool = False) -> dict[str, Any]:
    """The stored report (or ``constraint_violations.json`` with ``violations=True``)."""
    digest = execution.violations_digest if violations else execution.report_digest
    if digest is None:
        return {}
    report: dict[str, Any] = json.loads(context.get_artifacts().get_bytes(digest))
    return report


def write_report_files(execution: MonitoringExecution, folder: str | Path) -> list[Path]:
    """Write an execution's results as a Model Monitor execution writes them, and return the paths.

    ``constraint_violations.json`` always; ``statistics.json`` (the window's statistics for data quality,
    the metrics for model quality) and ``constraints.json`` (the baseline's for data quality, the checked
    bounds for model quality) when the execution has them. Each file is written atomically.
    """
    report = read_report(execution)
    files: dict[str, Any] = {VIOLATIONS_FILE: read_report(execution, violations=True) or {"violations": []}}
    if report.get("statistics"):
        files[STATISTICS_FILE] = report["statistics"]
    if report.get("constraints"):
        files[CONSTRAINTS_FILE] = report["constraints"]
    elif report.get("baseline"):
        from loopml.monitor.baselines import load_baseline

        files[CONSTRAINTS_FILE] = load_baseline(report["baseline"]["statistics"], report["baseline"]["constraints"])[1]
    return [write_json(body, Path(folder) / name) for name, body in files.items()]


def _record(sched: Schedule, start: datetime, end: datetime, outcome: Any, eid: str) -> MonitoringExecution:
    store = context.get_artifacts()
    report_ref = store.put_bytes(json.dumps(_json_safe(outcome.report), indent=2, allow_nan=False).encode())
    viol_ref = store.put_bytes(json.dumps({"violations": outcome.violations}, indent=2).encode())
    status = {"failed": "Failed", "violations": "CompletedWithViolations"}.get(outcome.result, "Completed")
    metrics = _json_safe(outcome.metrics)
    ex = MonitoringExecution(eid, sched.name, sched.endpoint or "", sched.config["monitor_type"],
                             start, end, status, outcome.result, outcome.item_count, len(outcome.violations),
                             metrics, report_ref.sha256, viol_ref.sha256, outcome.message, clock.now())
    with context.get_db().write() as conn:
        if conn.execute(sa.select(executions.c.id).where(executions.c.id == eid)).first():
            return _find(eid) or ex
        for ref in (report_ref, viol_ref):
            integrity.record_artifact(conn, ref, media_type="application/json", actor="automation:monitor")
        conn.execute(executions.insert().values(**{k: v for k, v in ex.__dict__.items()}))
        _publish(conn, ex)
        audit.append(conn, actor="automation:monitor", action="monitor.execution", resource=f"schedule:{sched.name}",
                     details={"execution": ex.id, "status": status, "result": ex.result, "violations": ex.violations})
    level = logging.WARNING if ex.violations else logging.INFO
    logs.log_event(_log, "monitor.violations" if ex.violations else "monitor.execution", level=level,
                   schedule=sched.name, execution=ex.id, result=ex.result, violations=ex.violations)
    return ex


def _publish(conn: Any, ex: MonitoringExecution) -> None:
    """Datapoints for alarms, stamped at the window end; missing when the data was insufficient."""
    usable = ex.result in ("ok", "violations")
    for source in (f"schedule:{ex.schedule}", f"endpoint:{ex.endpoint}"):
        put_metric(source, "violations", float(ex.violations) if usable else None, at=ex.window_end, conn=conn)
        for name, value in ex.metrics.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                put_metric(source, name, float(value) if usable else None, at=ex.window_end, conn=conn)


def _execution(row: Any) -> MonitoringExecution:
    m = dict(row._mapping)
    for key in ("window_start", "window_end", "created_at"):
        m[key] = clock.as_utc(m[key])
    m["metrics"] = dict(m["metrics"] or {})
    return MonitoringExecution(**m)
