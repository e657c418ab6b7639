"""Figures over time for the web UI's charts: stored datapoints (an endpoint's latency, throughput and
errors; a monitor's drift) and a schedule's violations per feature across its executions. Read-only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from loopml import monitor
from loopml.api._shapes import Name
from loopml.api.auth import Principal, authorize
from loopml.monitor.history import violation_history
from loopml.monitor.metric_alarms import metric_series

router = APIRouter(tags=["monitoring"])
Caller = Annotated[Principal, Depends(authorize)]
Source = Annotated[str, Query(pattern=r"^(endpoint|schedule):[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}$",
                              description="endpoint:NAME or schedule:NAME")]
Metrics = Annotated[list[Annotated[str, Query(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.:\-]{0,199}$")]],
                    Query(min_length=1, max_length=20, description="e.g. p99_latency_ms, invocations, error_rate")]
MAX_POINTS = 5000


@router.get("/datapoints", summary="Datapoints of metrics of one source, oldest first (?metric=a&metric=b)")
def datapoints(caller: Caller, source: Source, metric: Metrics, since: datetime | None = None) -> dict[str, Any]:
    series = {}
    for name in metric:
        points = metric_series(source, name, since=since)[-MAX_POINTS:]
        series[name] = [[at.timestamp(), value] for at, value in points]
    return {"source": source, "series": series}


@router.get("/monitoring/schedules/{name}/violations",
            summary="Violations per feature across the schedule's recent executions, with per-feature drift")
def schedule_violations(name: Name, caller: Caller,
                        limit: Annotated[int, Query(ge=1, le=200)] = 24) -> dict[str, Any]:
    monitor.get_schedule(name)
    return violation_history(schedule=name, limit=limit)
