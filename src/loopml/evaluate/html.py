"""The HTML of an evaluation report: :func:`render_fragment` (notebooks, the web UI's approval page) and
:func:`render_html` (one self-contained page).

Charts are the shared server-side SVG (:mod:`loopml.core.charts`; no CDN, no JavaScript); every value from
the report is escaped. Bias values outside their bounds and flagged slices are highlighted.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from loopml.core import charts
from loopml.core import fragments as f
from loopml.evaluate import bias
from loopml.evaluate.gate import GateResult
from loopml.evaluate.report import EvaluationReport

#: Default (low, high) bounds outside which a bias value is highlighted. DI is a ratio around 1;
#: the differences are centred on 0.
BIAS_BOUNDS: dict[str, tuple[float, float]] = {
    **dict.fromkeys(("DPL", "DPPL", "DCAcc", "DCR", "SD", "RD", "DAR", "DRR", "AD", "CDDL", "CDDPL", "FT"),
                    (-0.1, 0.1)),
    **dict.fromkeys(("KL", "JS", "LP", "TVD", "KS"), (0.0, 0.1)),
    "CI": (-0.5, 0.5), "DI": (0.8, 1.25), "TE": (-0.5, 0.5), "GE": (0.0, 0.2),
}
_PAGE = "body{margin:24px;max-width:1100px}h1{font-size:20px}"


def _metrics(report: EvaluationReport) -> str:
    rows = [[f.cell(name), f.cell(value), f.cell(report.reasons.get(name, ""))] for name, value in report.metrics.items()]
    return f.section("Metrics", f.table(["metric", "value", "note"], rows))


def _delta_chart(report: EvaluationReport) -> str:
    assert report.comparison is not None
    items = [charts.Bar(d.metric, d.delta, low=d.ci_low, high=d.ci_high,
                        color="#16a34a" if d.improved else "#dc2626" if d.improved is False else "#9ca3af",
                        note=f"champion {charts.fmt_number(d.champion)}, challenger {charts.fmt_number(d.challenger)}")
             for d in report.comparison.deltas if d.delta is not None]
    title = "Challenger minus champion (95% interval)"
    return f.figure(title, charts.bars(items, title=title)) if items else ""


def _comparison(report: EvaluationReport) -> str:
    if report.comparison is None:
        return f.section("Champion vs challenger", "<p class='muted'>No incumbent: nothing to compare.</p>")
    rows = []
    for d in report.comparison.deltas:
        css = "" if d.improved is None else ("good" if d.improved else "bad")
        rows.append([f.cell(d.metric), f.cell(d.champion), f.cell(d.challenger), f.cell(d.delta, css),
                     f.cell(d.ci_low), f.cell(d.ci_high), f.cell(d.reason or "")])
    caption = f"<p>Paired bootstrap, {report.comparison.bootstrap} replicates, 95% intervals of the delta.</p>"
    table = f.table(["metric", "champion", "challenger", "delta", "CI low", "CI high", "note"], rows)
    return f.section("Champion vs challenger", caption + table + _delta_chart(report))


def _series(report: EvaluationReport, kind: str, x: str, y: str) -> list[charts.Series]:
    named = [("challenger" if report.comparison else "model", report.curves)]
    if report.comparison is not None:
        named.append(("champion", report.comparison.champion_curves))
    return [charts.Series(name, list(zip(curves[kind][x], curves[kind][y], strict=False))) for name, curves in named
            if curves.get(kind) and curves[kind][x]]


def _curve(title: str, series: list[charts.Series], x_label: str, y_label: str, **options: Any) -> str:
    svg = charts.line(series, title=title, x_label=x_label, y_label=y_label, x_range=(0, 1), y_range=(0, 1),
                      width=340, height=220, **options)
    return f.figure(title, svg)


def _charts(report: EvaluationReport) -> str:
    parts = []
    if roc := _series(report, "roc", "fpr", "tpr"):
        parts.append(_curve("ROC curve", roc, "false positive rate", "true positive rate", diagonal=True,
                            markers=False))
    if pr := _series(report, "pr", "recall", "precision"):
        parts.append(_curve("Precision-recall curve", pr, "recall", "precision", markers=False))
    if calibration := _series(report, "calibration", "mean_predicted", "fraction_positive"):
        parts.append(_curve("Calibration", calibration, "mean predicted probability", "fraction positive",
                            diagonal=True, markers=True))
    if report.confusion_matrix:
        cm = report.confusion_matrix
        parts.append(f.figure("Confusion matrix", charts.heatmap(cm["labels"], cm["matrix"], title="Confusion matrix")))
    return f.section("Charts", "".join(parts))


def _explanation(report: EvaluationReport) -> str:
    e = report.explanation
    if e.status != "ok":
        return f.section("Explanations", f"<p class='muted'>SHAP {escape(e.status)}: {escape(e.reason or '')}</p>")
    title = f"Mean |SHAP| ({e.explainer} explainer, {e.output}, {len(e.rows)} rows)"
    items = [charts.Bar(name, value) for name, value in list(e.global_importance.items())[:20]]
    return f.section("Explanations", f.figure(title, charts.bars(items, title=title)))


def _slices(report: EvaluationReport) -> str:
    if not report.slices:
        return ""
    rows = [[f.cell(s.column), f.cell(s.value), f.cell(s.n), f.cell(s.challenger), f.cell(s.reference),
             f.cell(s.drop, "bad" if s.flagged else ""), f.cell("yes" if s.flagged else "", "bad" if s.flagged else ""),
             f.cell(s.reason or "")] for s in report.slices]
    note = f"<p>max_slice_drop = {f.value(report.max_slice_drop)}</p>"
    table = f.table(["column", "value", "rows", "challenger", "reference", "drop", "flagged", "note"], rows)
    return f.section(f"Slices ({report.slice_metric}, threshold {report.slice_threshold:g})", note + table)


def _bias(report: EvaluationReport, bounds: Mapping[str, tuple[float, float]]) -> str:
    if not report.bias:
        return ""
    names = list(bias.PRE_TRAINING + bias.POST_TRAINING)
    rows = []
    for facet in report.bias:
        row = [f.cell(facet.column), f.cell(facet.facet), f.cell(facet.n_d)]
        for name in names:
            value = facet.metric(name)
            low, high = bounds.get(name, (float("-inf"), float("inf")))
            row.append(f.cell(value, "bad" if value is not None and not low <= value <= high else ""))
        rows.append(row)
    legend = ", ".join(f"{k} in [{lo:g}, {hi:g}]" for k, (lo, hi) in bounds.items())
    body = (f"<p class='muted'>Highlighted when outside: {escape(legend)}</p>"
            + f.table(["column", "facet", "n_d", *names], rows, scroll=True))
    return f.section("Bias (SageMaker Clarify definitions; facet d = the value, facet a = the rest)", body)


def _gate(gate: GateResult | None) -> str:
    if gate is None:
        return ""
    verdict = "<span class='pass'>PASSED</span>" if gate.passed else "<span class='fail'>FAILED</span>"
    rows = [[f.cell(r.rule), f.cell("pass" if r.passed else "fail", "good" if r.passed else "bad"),
             f.cell(r.observed), f.cell(r.reason)] for r in gate.rules]
    return f"<h4 class='gate'>Gate: {verdict}</h4>" + f.table(["rule", "result", "observed", "reason"], rows)


def render_fragment(report: EvaluationReport, *, gate: GateResult | None = None,
                    bias_bounds: Mapping[str, tuple[float, float]] | None = None) -> str:
    """The report as an HTML fragment (no page, no stylesheet): gate, metrics, champion vs challenger with
    intervals, curves, explanations, slices, bias and warnings. Style it with :func:`loopml.core.fragments.css`.

    Args:
        report: the evaluation report.
        gate: a gate result to show at the top, or None.
        bias_bounds: per-metric ``(low, high)`` bounds for highlighting bias values; defaults to
            :data:`BIAS_BOUNDS`.
    """
    summary = (f"<p>Task <b>{escape(report.task)}</b>, label <b>{escape(report.label)}</b>, "
               f"{report.n_rows} rows, positive label {f.value(report.positive_label)}.</p>")
    warnings = "".join(f"<li>{escape(w)}</li>" for w in report.warnings)
    sections = [summary, _gate(gate), _metrics(report), _comparison(report), _charts(report), _explanation(report),
                _slices(report), _bias(report, bias_bounds or BIAS_BOUNDS),
                f.section("Warnings", f"<ul>{warnings}</ul>" if warnings else "")]
    return "".join(sections)


def render_html(report: EvaluationReport, *, gate: GateResult | None = None, title: str = "Evaluation report",
                bias_bounds: Mapping[str, tuple[float, float]] | None = None) -> str:
    """A self-contained HTML page (inline CSS and SVG) for ``report``: :func:`render_fragment` with a title.

    Args:
        report: the evaluation report.
        gate: a gate result to show at the top, or None.
        title: the page title.
        bias_bounds: per-metric ``(low, high)`` bounds for highlighting bias values; defaults to
            :data:`BIAS_BOUNDS`.

    Returns:
        The HTML document as a string.
    """
    body = render_fragment(report, gate=gate, bias_bounds=bias_bounds)
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{f.css()}{_PAGE}</style></head><body class='lml'><h1>{escape(title)}</h1>{body}</body></html>")
