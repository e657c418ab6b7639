"""Monitoring schedules (per endpoint) and pipeline schedules (scheduled retraining).

A schedule fires on a cron expression (``"0 * * * *"``, five fields, UTC) or every ``interval_seconds``.
Each firing time is a *slot*; the scheduler runs the latest due slot once (missed older slots are not
back-filled, like Airflow with ``catchup=False``). A monitoring schedule's window is the
``window_seconds`` before its slot.

Bad input fails at creation: a cron expression that does not parse, an unknown monitor type, a baseline
whose features do not match the endpoint's model signature.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from croniter import croniter

from loopml.core import audit, checks, clock, context, ids, names
from loopml.errors import ConflictError, NotFoundError, ValidationError
from loopml.monitor._tables import schedules
from loopml.monitor.kinds import MONITORS

MONITOR_TYPES = tuple(MONITORS)
_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,99}")


@dataclass(frozen=True)
class Schedule:
    """A stored schedule (read-only view).

    Attributes:
        id: ``sch_…``.
        name: Unique name.
        kind: ``monitor`` or ``pipeline``.
        cron: Five-field cron expression (UTC), or None.
        interval_seconds: Fixed interval, or None.
        config: For ``monitor``: ``endpoint``, ``monitor_type``, ``window_seconds``, baseline digests,
            ``thresholds`` and type-specific settings. For ``pipeline``: ``pipeline``, ``params``,
            ``executor``.
        enabled: Whether the scheduler runs it.
        created_by: Who created it.
        created_at: When (UTC); interval slots count from here.
    """

    id: str
    name: str
    kind: str
    cron: str | None
    interval_seconds: float | None
    config: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True
    created_by: str = ""
    created_at: datetime = field(default_factory=clock.now)

    @property
    def endpoint(self) -> str | None:
        """The monitored endpoint (monitoring schedules)."""
        return self.config.get("endpoint")

    def latest_slot(self, now: datetime) -> datetime | None:
        """The latest firing time at or before ``now`` (not before creation), or None."""
        now = clock.as_utc(now)
        start = clock.as_utc(self.created_at)
        if self.cron:
            slot = clock.as_utc(croniter(self.cron, now + timedelta(microseconds=1)).get_prev(datetime))
            return slot if slot >= start - timedelta(seconds=60) else None
        step = float(self.interval_seconds or 0)
        anchor = _floor(start, step)
        if now < anchor:
            return None
        return anchor + timedelta(seconds=step * math.floor((now - anchor).total_seconds() / step))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {"id": self.id, "name": self.name, "kind": self.kind, "cron": self.cron,
                "interval_seconds": self.interval_seconds, "config": self.config, "enabled": self.enabled,
                "created_by": self.created_by, "created_at": self.created_at.isoformat()}


_TIMING: dict[str, list[checks.Constraint]] = {
    "cron": [checks.Typed(str, "str"), checks.NONE],
    "interval_seconds": [checks.Interval(float, 1, checks.TEN_YEARS), checks.NONE],
}
CREATE_MONITORING_SCHEDULE_CONSTRAINTS: dict[str, list[checks.Constraint]] = {
    **_TIMING, "monitor_type": [checks.Options(*MONITORS)],
    "window_seconds": [checks.Interval(float, 0, checks.TEN_YEARS, closed="right")],
    "statistics": [checks.Typed(str, "str"), checks.NONE], "constraints": [checks.Typed(str, "str"), checks.NONE],
    "thresholds": [checks.Typed(dict, "dict"), checks.NONE], "settings": [checks.Typed(dict, "dict"), checks.NONE],
    "check_signature": [checks.Typed(bool, "bool")],
}
"""What :func:`create_monitoring_schedule` accepts (the name: ``_check_name``; the cron expression: it must
parse; the endpoint and the capture and ground-truth locations: checked when the schedule is created)."""
CREATE_PIPELINE_SCHEDULE_CONSTRAINTS: dict[str, list[checks.Constraint]] = {
    **_TIMING, "params": [checks.Typed(dict, "dict"), checks.NONE]}
"""What :func:`create_pipeline_schedule` accepts (the executor: a row of ``pipelines.executors.EXECUTORS``)."""


@checks.validate_params(CREATE_MONITORING_SCHEDULE_CONSTRAINTS)
def create_monitoring_schedule(
    name: str,
    endpoint: str,
    *,
    monitor_type: str = "data_quality",
    cron: str | None = None,
    interval_seconds: float | None = None,
    window_seconds: float = 3600.0,
    statistics: str | None = None,
    constraints: str | None = None,
    thresholds: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
    check_signature: bool = True,
    capture_uri: str | None = None,
    ground_truth_uri: str | None = None,
) -> Schedule:
    """Create a monitoring schedule on an endpoint.

    Args:
        name: Lowercase letters, digits and dashes.
        endpoint: The endpoint whose captured traffic is checked.
        monitor_type: ``data_quality``, ``model_quality``, ``bias_drift`` or ``attribution_drift``.
        cron: Five-field cron expression in UTC (``"0 * * * *"`` = hourly); or give ``interval_seconds``.
        interval_seconds: Run every this many seconds.
        window_seconds: How much traffic before each slot one run checks.
        statistics: ``sha256:…`` of the baseline ``statistics.json`` (data_quality; see ``create_baseline``).
        constraints: ``sha256:…`` of the baseline ``constraints.json`` (data_quality).
        thresholds: Per-feature drift thresholds (data_quality), metric thresholds (model_quality),
            metric bounds ``{"DPPL": [-0.1, 0.1]}`` (bias_drift), or ``{"ndcg": 0.9}`` (attribution_drift).
        settings: Type-specific settings: ``baseline_metrics``, ``problem_type``, ``positive_label``,
            ``probability_threshold`` (model_quality); ``facet``, ``facet_values``, ``label_values``
            (bias_drift); ``baseline_attributions``, ``sample`` (attribution_drift); ``min_rows``, and
            ``columns`` (names of row-shaped and CSV request columns when no model signature says them; all).
        check_signature: Check the baseline's features against the endpoint model's signature.
        capture_uri: Read capture from this folder in SageMaker's layout
            (``<capture_uri>/<endpoint>/<variant>/yyyy/mm/dd/hh/*.jsonl``: what a SageMaker endpoint writes
            under its ``DestinationS3Uri``; a local folder or ``s3://bucket/prefix``) instead of loopml's
            capture root. The endpoint then need not exist in loopml.
        ground_truth_uri: Also read labels from this folder (``<uri>/yyyy/mm/dd/hh/*.jsonl``, as Model
            Monitor expects them).

    Returns:
        The stored :class:`Schedule`.

    Raises:
        ValidationError: a bad name, cron expression, interval, type, or a baseline that does not match
            the endpoint's model signature.
        NotFoundError: the endpoint or a baseline artifact does not exist.
        ConflictError: a schedule of this name exists.
    """
    _check_name(name)
    window_seconds = float(window_seconds)
    config = {"endpoint": endpoint, "monitor_type": monitor_type, "window_seconds": window_seconds,
              "statistics": statistics, "constraints": constraints,
              "thresholds": checks.mapping(thresholds, "thresholds"), "settings": checks.mapping(settings, "settings")}
    config.update({k: _location(k, v) for k, v in (("capture_uri", capture_uri), ("ground_truth_uri",
                                                                                   ground_truth_uri)) if v})
    _check_monitor_config(config, check_signature=check_signature and not capture_uri)
    return _insert(name, "monitor", cron, interval_seconds, config)


@checks.validate_params(CREATE_PIPELINE_SCHEDULE_CONSTRAINTS)
def create_pipeline_schedule(
    name: str,
    pipeline: str,
    *,
    cron: str | None = None,
    interval_seconds: float | None = None,
    params: dict[str, Any] | None = None,
    executor: str = "inline",
) -> Schedule:
    """Schedule a pipeline (e.g. weekly retraining) by its ``MODULE:NAME`` or ``file.py:NAME`` reference."""
    _check_name(name)
    if not isinstance(pipeline, str) or ":" not in pipeline:
        raise ValidationError(f"pipeline {pipeline!r} must be a 'MODULE:NAME' or 'path/file.py:NAME' reference")
    from loopml.pipelines.executors import check_executor

    check_executor(executor)
    config = {"pipeline": pipeline, "params": checks.mapping(params, "params"), "executor": executor}
    return _insert(name, "pipeline", cron, interval_seconds, config)


def get_schedule(name: str) -> Schedule:
    """A schedule by name (raises ``NotFoundError``)."""
    with context.get_db().read() as conn:
        row = conn.execute(sa.select(schedules).where(schedules.c.name == name)).first()
    if row is None:
        raise NotFoundError(f"no schedule {name!r}; list them with 'loopml monitor schedules'", schedule=name)
    return row_to_schedule(row)


def list_schedules(*, kind: str | None = None, enabled_only: bool = False) -> list[Schedule]:
    """Schedules by name, optionally of one kind or only the enabled ones."""
    query = sa.select(schedules).order_by(schedules.c.name)
    if kind:
        query = query.where(schedules.c.kind == kind)
    if enabled_only:
        query = query.where(schedules.c.enabled.is_(True))
    with context.get_db().read() as conn:
        return [row_to_schedule(r) for r in conn.execute(query)]


def set_enabled(name: str, enabled: bool) -> Schedule:
    """Pause (``False``) or resume (``True``) a schedule."""
    get_schedule(name)
    with context.get_db().write() as conn:
        conn.execute(schedules.update().where(schedules.c.name == name).values(enabled=enabled))
        audit.append(conn, actor=context.current_user(), action="schedule.enable" if enabled else "schedule.pause",
                     resource=f"schedule:{name}")
    return get_schedule(name)


def delete_schedule(name: str) -> None:
    """Delete a schedule (its executions stay)."""
    get_schedule(name)
    with context.get_db().write() as conn:
        conn.execute(schedules.delete().where(schedules.c.name == name))
        audit.append(conn, actor=context.current_user(), action="schedule.delete", resource=f"schedule:{name}")


def row_to_schedule(row: Any) -> Schedule:
    """A table row as a :class:`Schedule`."""
    return Schedule(row.id, row.name, row.kind, row.cron, row.interval_seconds, dict(row.config),
                    bool(row.enabled), row.created_by, clock.as_utc(row.created_at))


def check_timing(cron: str | None, interval_seconds: float | None) -> None:
    """Exactly one of a parseable five-field cron expression and a positive interval."""
    if (cron is None) == (interval_seconds is None):
        raise ValidationError("give exactly one of cron (e.g. '0 * * * *') and interval_seconds (e.g. 3600)")
    if cron is not None and (len(cron.split()) != 5 or not croniter.is_valid(cron)):
        raise ValidationError(f"cron expression {cron!r} does not parse; use five fields 'min hour day month "
                              "weekday' in UTC, e.g. '0 * * * *' (hourly) or '*/15 * * * *'", cron=cron)
    if interval_seconds is not None:
        checks.number(interval_seconds, "interval_seconds", low=1, high=checks.TEN_YEARS)


def _check_name(name: str) -> None:
    names.check("schedule", name, narrower=_NAME, rule="1-100 lowercase ASCII letters, digits and dashes, "
                "starting with a letter or digit", example="churn-data-quality")


def _insert(name: str, kind: str, cron: str | None, interval: float | None, config: dict[str, Any]) -> Schedule:
    _check_name(name)
    check_timing(cron, interval)
    user = context.current_user()
    sched = Schedule(ids.new_id("sch"), name, kind, cron, float(interval) if interval else None, config, True,
                     user, clock.now())
    with context.get_db().write() as conn:
        if conn.execute(sa.select(schedules.c.id).where(schedules.c.name == name)).first():
            raise ConflictError(f"schedule {name!r} exists; delete it first or pick another name", schedule=name)
        conn.execute(schedules.insert().values(
            id=sched.id, name=name, kind=kind, cron=cron, interval_seconds=sched.interval_seconds, config=config,
            enabled=True, created_by=user, created_at=sched.created_at))
        audit.append(conn, actor=user, action="schedule.create", resource=f"schedule:{name}",
                     details={"kind": kind, "cron": cron, "interval_seconds": interval, "config": config})
    return sched


def _check_monitor_config(config: dict[str, Any], *, check_signature: bool) -> None:
    from loopml.monitor import _signature_check

    if not isinstance(config["endpoint"], str) or not config["endpoint"].strip() or "/" in config["endpoint"]:
        raise ValidationError(f"endpoint {config['endpoint']!r} must be an endpoint name (no '/'), e.g. 'churn'")
    if config["monitor_type"] == "data_quality":
        if not config["statistics"] or not config["constraints"]:
            raise ValidationError("a data_quality schedule needs statistics= and constraints= digests; create "
                                  "them with 'loopml monitor baseline DATASET'")
        _signature_check.check_baseline(config, check_signature=check_signature)
    elif check_signature:
        _signature_check.endpoint_inputs(config["endpoint"])


def _location(key: str, value: Any) -> str:
    from loopml.serve import capture

    return capture.location(str(value), what=key)


def _floor(value: datetime, step: float) -> datetime:
    epoch = value.timestamp()
    return datetime.fromtimestamp(math.floor(epoch / step) * step, tz=value.tzinfo)
