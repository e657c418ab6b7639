"""``render_html``: one self-contained HTML page for an evaluation report.

Charts are inline SVG drawn here (no CDN, no JavaScript); every value from the report is escaped.
Bias values outside their bounds and flagged slices are highlighted.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from loopml.evaluate import _svg, bias
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

_STYLE = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}
table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #ddd;padding:3px 8px;font-size:13px}
th{background:#f3f3f3;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
.bad{background:#fde0dc;color:#a40000;font-weight:600}.good{background:#e3f6e3}
.muted{color:#777}figure{display:inline-block;margin:8px}figcaption{font-weight:600;font-size:13px}
.pass{color:#137333;font-weight:700}.fail{color:#a40000;font-weight:700}
"""


def _fmt(value: Any) -> str:
    if value is None:
        return '<span class="muted">n/a</span>'
    if isinstance(value, float):
        return f"{value:.4g}"
    return escape(str(value))


def _table(head: list[str], rows: list[list[str]]) -> str:
    header = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(rows_cell for rows_cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{header}</tr>{body}</table>"


def _cell(value: Any, css: str = "") -> str:
    cls = f' class="num {css}"' if isinstance(value, float) or value is None else (f' class="{css}"' if css else "")
    return f"<td{cls}>{_fmt(value)}</td>"


def _metrics(report: EvaluationReport) -> str:
    rows = [[_cell(name), _cell(value), _cell(report.reasons.get(name, ""))] for name, value in report.metrics.items()]
    return "<h2>Metrics</h2>" + _table(["metric", "value", "note"], rows)


def _comparison(report: EvaluationReport) -> str:
    if report.comparison is None:
        return "<h2>Champion vs challenger</h2><p class='muted'>No incumbent: nothing to compare.</p>"
    rows = []
    for d in report.comparison.deltas:
        css = "" if d.improved is None else ("good" if d.improved else "bad")
        rows.append([_cell(d.metric), _cell(d.champion), _cell(d.challenger), _cell(d.delta, css),
                     _cell(d.ci_low), _cell(d.ci_high), _cell(d.reason or "")])
    caption = f"<p>Paired bootstrap, {report.comparison.bootstrap} replicates, 95% intervals of the delta.</p>"
    return "<h2>Champion vs challenger</h2>" + caption + _table(
        ["metric", "champion", "challenger", "delta", "CI low", "CI high", "note"], rows)


def _series(report: EvaluationReport, kind: str, x: str, y: str) -> list[tuple[str, list[float], list[float]]]:
    named = [("challenger" if report.comparison else "model", report.curves)]
    if report.comparison is not None:
        named.append(("champion", report.comparison.champion_curves))
    return [(name, curves[kind][x], curves[kind][y]) for name, curves in named
            if curves.get(kind) and curves[kind][x]]


def _charts(report: EvaluationReport) -> str:
    parts = []
    if roc := _series(report, "roc", "fpr", "tpr"):
        parts.append(_svg.line_chart("ROC curve", roc, x_label="false positive rate",
                                     y_label="true positive rate", diagonal=True))
    if pr := _series(report, "pr", "recall", "precision"):
        parts.append(_svg.line_chart("Precision-recall curve", pr, x_label="recall", y_label="precision"))
    if calibration := _series(report, "calibration", "mean_predicted", "fraction_positive"):
        parts.append(_svg.line_chart("Calibration", calibration, x_label="mean predicted probability",
                                     y_label="fraction positive", diagonal=True, markers=True))
    if report.confusion_matrix:
        cm = report.confusion_matrix
        parts.append(_svg.heatmap("Confusion matrix", cm["labels"], cm["matrix"]))
    return "<h2>Charts</h2>" + "".join(parts) if parts else ""


def _explanation(report: EvaluationReport) -> str:
    e = report.explanation
    if e.status != "ok":
        return f"<h2>Explanations</h2><p class='muted'>SHAP {escape(e.status)}: {escape(e.reason or '')}</p>"
    chart = _svg.bar_chart(f"Mean |SHAP| ({e.explainer} explainer, {e.output}, {len(e.rows)} rows)",
                           list(e.global_importance.items()))
    return "<h2>Explanations</h2>" + chart


def _slices(report: EvaluationReport) -> str:
    if not report.slices:
        return ""
    rows = [[_cell(s.column), _cell(s.value), _cell(s.n), _cell(s.challenger), _cell(s.reference),
             _cell(s.drop, "bad" if s.flagged else ""), _cell("yes" if s.flagged else "", "bad" if s.flagged else ""),
             _cell(s.reason or "")] for s in report.slices]
    head = f"<h2>Slices ({escape(str(report.slice_metric))}, threshold {report.slice_threshold:g})</h2>"
    note = f"<p>max_slice_drop = {_fmt(report.max_slice_drop)}</p>"
    return head + note + _table(["column", "value", "rows", "challenger", "reference", "drop", "flagged", "note"],
                                rows)


def _bias(report: EvaluationReport, bounds: Mapping[str, tuple[float, float]]) -> str:
    if not report.bias:
        return ""
    names = list(bias.PRE_TRAINING + bias.POST_TRAINING)
    rows = []
    for facet in report.bias:
        row = [_cell(facet.column), _cell(facet.facet), _cell(facet.n_d)]
        for name in names:
            value = facet.metric(name)
            low, high = bounds.get(name, (float("-inf"), float("inf")))
            row.append(_cell(value, "bad" if value is not None and not low <= value <= high else ""))
        rows.append(row)
    legend = ", ".join(f"{k} in [{lo:g}, {hi:g}]" for k, (lo, hi) in bounds.items())
    return ("<h2>Bias (SageMaker Clarify definitions; facet d = the value, facet a = the rest)</h2>"
            f"<p class='muted'>Highlighted when outside: {escape(legend)}</p>"
            f"<div style='overflow-x:auto'>{_table(['column', 'facet', 'n_d', *names], rows)}</div>")


def _gate(gate: GateResult | None) -> str:
    if gate is None:
        return ""
    verdict = "<span class='pass'>PASSED</span>" if gate.passed else "<span class='fail'>FAILED</span>"
    rows = [[_cell(r.rule), _cell("pass" if r.passed else "fail", "good" if r.passed else "bad"),
             _cell(r.observed), _cell(r.reason)] for r in gate.rules]
    return f"<h2>Gate: {verdict}</h2>" + _table(["rule", "result", "observed", "reason"], rows)


def render_html(report: EvaluationReport, *, gate: GateResult | None = None, title: str = "Evaluation report",
                bias_bounds: Mapping[str, tuple[float, float]] | None = None) -> str:
    """A self-contained HTML page (inline CSS and SVG) for ``report``.

    Args:
        report: the evaluation report.
        gate: a gate result to show at the top, or None.
        title: the page title.
        bias_bounds: per-metric ``(low, high)`` bounds for highlighting bias values; defaults to
            :data:`BIAS_BOUNDS`.

    Returns:
        The HTML document as a string.
    """
    summary = (f"<p>Task <b>{escape(report.task)}</b>, label <b>{escape(report.label)}</b>, "
               f"{report.n_rows} rows, positive label {_fmt(report.positive_label)}.</p>")
    warnings = "".join(f"<li>{escape(w)}</li>" for w in report.warnings)
    sections = [_gate(gate), _metrics(report), _comparison(report), _charts(report), _explanation(report),
                _slices(report), _bias(report, bias_bounds or BIAS_BOUNDS),
                f"<h2>Warnings</h2><ul>{warnings}</ul>" if warnings else ""]
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{_STYLE}</style></head><body><h1>{escape(title)}</h1>{summary}{''.join(sections)}"
            "</body></html>")
