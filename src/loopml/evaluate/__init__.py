"""Evaluation: metrics, champion vs challenger, slices, Clarify bias metrics, SHAP, the gate, reports.

The library takes a *predictor* (any object with ``predict(df)``, and ``predict_proba(df)`` for
classifiers) and pandas frames::

    report = evaluate(model, test_df, label="y", incumbent=champion, slices=["region"], sensitive=["sex"])
    result = Gate.from_rules(["auc >= 0.75", "auc >= champion.auc - 0.0", "abs(DPPL) <= 0.1"]).evaluate(report)
    html = render_html(report, gate=result)
"""

from __future__ import annotations

from loopml.evaluate.evaluation import evaluate
from loopml.evaluate.explain import Explanation
from loopml.evaluate.gate import Gate, GateError, GateResult, RuleOutcome, available_names
from loopml.evaluate.html import render_html
from loopml.evaluate.report import Comparison, EvaluationReport, FacetBias, MetricDelta, SliceResult

__all__ = [
    "Comparison",
    "EvaluationReport",
    "Explanation",
    "FacetBias",
    "Gate",
    "GateError",
    "GateResult",
    "MetricDelta",
    "RuleOutcome",
    "SliceResult",
    "available_names",
    "evaluate",
    "render_html",
]
