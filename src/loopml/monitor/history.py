"""Violations per feature over time: for a schedule (or an endpoint), each feature's violations in each of its
recent monitoring executions, and the per-feature drift figures those executions published."""

from __future__ import annotations

from typing import Any

from loopml.monitor.executions import MonitoringExecution, list_executions, read_report

DRIFT_PREFIX = "feature_baseline_drift_"


def _subject(violation: dict[str, Any]) -> str:
    return str(violation.get("feature_name") or violation.get("metric_name") or violation.get("label") or "(all)")


def _window(ex: MonitoringExecution, features: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    found: dict[str, list[dict[str, str]]] = {}
    for violation in (read_report(ex, violations=True).get("violations") or []):
        found.setdefault(_subject(violation), []).append(
            {"check": str(violation.get("constraint_check_type", "")), "description": str(violation.get("description", ""))})
    for name, items in found.items():
        features.setdefault(name, []).append({"execution": ex.id, "window_end": ex.window_end.isoformat(),
                                              "checks": items})
    return {"id": ex.id, "window_end": ex.window_end.isoformat(), "status": ex.status, "result": ex.result,
            "violations": ex.violations}


def violation_history(*, schedule: str | None = None, endpoint: str | None = None, limit: int = 24) -> dict[str, Any]:
    """The last ``limit`` executions (oldest first) and, per feature or metric, the windows it was violated in.

    Returns:
        ``{"executions": [{"id", "window_end", "status", "result", "violations"}],
        "features": {name: [{"execution", "window_end", "checks": [{"check", "description"}]}]},
        "drift": {feature: [[window_end, value], …]}}``.
    """
    found = list(reversed(list_executions(schedule=schedule, endpoint=endpoint, limit=limit)))
    features: dict[str, list[dict[str, Any]]] = {}
    executions = [_window(ex, features) for ex in found]
    drift: dict[str, list[list[Any]]] = {}
    for ex in found:
        for key, value in ex.metrics.items():
            if key.startswith(DRIFT_PREFIX) and isinstance(value, int | float) and not isinstance(value, bool):
                drift.setdefault(key.removeprefix(DRIFT_PREFIX), []).append([ex.window_end.isoformat(), float(value)])
    return {"executions": executions, "features": dict(sorted(features.items())), "drift": dict(sorted(drift.items()))}
