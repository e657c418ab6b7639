"""The HTML of a run, for notebooks and the web UI: details, parameters, a chart per metric over steps, the
trials of a tuning study (objective by trial, parallel coordinates), and the status history."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from loopml.core import charts
from loopml.core import fragments as f
from loopml.train import tracking
from loopml.train._records import MetricPoint, Run


def _details(run: Run, links: f.Links) -> str:
    parent = f.a(links("run", run.parent_id), run.parent_id) if run.parent_id else ""
    datasets = ", ".join(f.a(links("dataset", f"{i['name']}/{i['version']}"), f"{i['name']}@{i['version']}")
                         for i in run.inputs.values() if isinstance(i, dict) and i.get("type") == "dataset")
    return f.dl([
        ("run", f.code(run.id)), ("name", f.value(run.name) if run.name else ""),
        ("experiment", f.value(run.experiment)), ("kind", f.value(run.kind)), ("status", f.status(run.status)),
        ("reason", f.value(run.status_reason) if run.status_reason else ""), ("parent", parent),
        ("training data", datasets), ("model", f.short(run.model_digest) if run.model_digest else ""),
        ("created", f"{f.when(run.created_at)} by {f.value(run.created_by)}"),
        ("ended", f.when(run.ended_at) if run.ended_at else ""),
        ("compute", f.value(charts.fmt_duration(run.compute_seconds)) if run.compute_seconds else ""),
        ("code", f.code_ref(run.code)), ("error", f.error_block(run.error))])


def _params(run: Run) -> str:
    if not run.params:
        return ""
    return f.table(["parameter", "value"], [[f.cell(k), f.cell(v)] for k, v in sorted(run.params.items())])


def _groups(keys: Sequence[str]) -> dict[str, list[str]]:
    """Metrics sharing a name after the last ``:`` share a chart (``train:loss`` with ``validation:loss``)."""
    out: dict[str, list[str]] = {}
    for key in sorted(keys):
        out.setdefault(key.rsplit(":", 1)[-1], []).append(key)
    return out


def metric_charts(histories: dict[str, list[MetricPoint]]) -> str:
    """A line chart over steps per metric (or group of metrics), and a table of single-value metrics."""
    figures, single = [], []
    for name, keys in _groups([k for k, points in histories.items() if len(points) > 1]).items():
        series = [charts.Series(k, [(p.step, p.value) for p in histories[k]]) for k in keys]
        figures.append(f.figure(name, charts.line(series, title=name, x_label="step", y_label=name, width=380,
                                                  height=170)))
    for key, points in sorted(histories.items()):
        if len(points) == 1:
            single.append([f.cell(key), f.cell(points[0].value), f.cell(points[0].step)])
    table = f.table(["metric", "value", "step"], single) if single else ""
    return "".join(figures) + table


def _trial_value(trial: Run, objective: str) -> float | None:
    found = trial.metrics.get(objective)
    return found if isinstance(found, int | float) else None


def _trials(run: Run, trials: list[Run], links: f.Links) -> str:
    if not trials:
        return ""
    trials = sorted(trials, key=lambda t: (t.created_at is None, t.created_at, t.id))
    objective = str(run.params.get("objective") or next(iter(trials[0].metrics), ""))
    keys = sorted({k for t in trials for k in t.params})
    varying = [k for k in keys if len({repr(t.params.get(k)) for t in trials}) > 1] or keys
    rows = [[f.cell(f.a(links("run", t.id), t.name or t.id), raw=True), f.cell(f.status(t.status), raw=True),
             *[f.cell(t.params.get(k)) for k in varying], f.cell(_trial_value(t, objective))] for t in trials]
    table = f.table(["trial", "status", *varying, objective], rows, scroll=True)
    return f.section(f"Trials ({len(trials)})", _trial_charts(trials, varying, objective, links) + table)


def _trial_charts(trials: list[Run], varying: list[str], objective: str, links: f.Links) -> str:
    values = [(i, _trial_value(t, objective)) for i, t in enumerate(trials)]
    by_trial = charts.line([charts.Series(objective, values)], title=f"{objective} by trial",
                           x_label="trial", y_label=objective, width=380, height=170)
    lines = [charts.Line(t.name or t.id, [*(t.params.get(k) for k in varying), _trial_value(t, objective)],
                         href=links("run", t.id)) for t in trials]
    axes = [*(f"params.{k}" for k in varying), f"metrics.{objective}"]
    return (f.figure(f"{objective} by trial", by_trial)
            + f.figure("Parameters and objective", charts.parallel(axes, lines, title="parameters and objective")))


def _history(run: Run) -> str:
    rows = [[f.cell(f.status(h.get("status")), raw=True), f.cell(f.when(h.get("at")), raw=True),
             f.cell(h.get("reason") or "")] for h in run.history]
    return f.table(["status", "at", "reason"], rows) if rows else ""


def render_run(run: Run, *, links: f.Links = f.no_links) -> str:
    """A run as an HTML fragment (its metric series and trials are read from the store).

    Args:
        run: the run.
        links: where names link to (the web UI's pages; none in a notebook).
    """
    histories = {key: tracking.metric_history(run.id, key) for key in run.metrics}
    trials = tracking.list_runs(parent_id=run.id, limit=1000)
    parts: list[Any] = [_details(run, links), f.section("Parameters", _params(run)),
                        f.section("Metrics", metric_charts(histories)), _trials(run, trials, links),
                        f.section("Status history", _history(run))]
    return "".join(parts)
