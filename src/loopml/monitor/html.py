"""The HTML of a monitoring execution (its report), for notebooks and the web UI: what was checked, the
violations per feature, and the figures it published (per-feature drift, model metrics)."""

from __future__ import annotations

from typing import Any

from loopml.core import charts
from loopml.core import fragments as f
from loopml.monitor.executions import MonitoringExecution

DRIFT_PREFIX = "feature_baseline_drift_"


def _details(ex: MonitoringExecution, links: f.Links) -> str:
    return f.dl([
        ("execution", f.code(ex.id)), ("type", f.value(ex.monitor_type)), ("status", f.status(ex.status)),
        ("result", f.status(ex.result)),
        ("schedule", f.a(links("schedule", ex.schedule), ex.schedule) if ex.schedule else ""),
        ("endpoint", f.a(links("endpoint", ex.endpoint), ex.endpoint)),
        ("window", f"{f.when(ex.window_start)} – {f.when(ex.window_end)} UTC"),
        ("rows checked", f.value(ex.item_count)), ("violations", f.value(ex.violations)),
        ("message", f.value(ex.message) if ex.message else "")])


def _violations(document: dict[str, Any]) -> str:
    items = document.get("violations") or []
    rows = [[f.cell(v.get("feature_name") or v.get("metric_name") or v.get("label") or "–"),
             f.cell(v.get("constraint_check_type")), f.cell(v.get("description"))] for v in items]
    return f.table(["feature or metric", "check", "what was found"], rows) if rows else \
        "<p class='muted'>No violations.</p>"


def _figures(ex: MonitoringExecution) -> str:
    numbers = {k: float(v) for k, v in ex.metrics.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    drift = [charts.Bar(k.removeprefix(DRIFT_PREFIX), v) for k, v in sorted(numbers.items()) if k.startswith(DRIFT_PREFIX)]
    others = [[f.cell(k), f.cell(v)] for k, v in sorted(numbers.items()) if not k.startswith(DRIFT_PREFIX)]
    chart = f.figure("Drift per feature (distance from the baseline)", charts.bars(drift, title="drift per feature")) \
        if drift else ""
    return chart + (f.table(["figure", "value"], others) if others else "")


def render_monitoring_execution(ex: MonitoringExecution, violations: dict[str, Any], *,
                                links: f.Links = f.no_links) -> str:
    """A monitoring execution as an HTML fragment: details, violations (``constraint_violations.json``), figures.

    Args:
        ex: the execution.
        violations: its ``constraint_violations.json`` document (``{"violations": [...]}``).
        links: where the schedule and endpoint link to (none in a notebook).
    """
    return (_details(ex, links) + f.section("Violations", _violations(violations))
            + f.section("Figures", _figures(ex)))
