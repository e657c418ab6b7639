"""The values an evaluation hands back: the report and its parts.

All of them are frozen pydantic models. ``EvaluationReport.to_dict()`` is JSON-safe: every float
is finite, and an undefined metric is ``None`` with its reason in the matching ``reasons`` map.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict

from loopml.evaluate.explain import Explanation


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class MetricDelta(_Frozen):
    """Challenger minus champion for one metric, with a paired-bootstrap confidence interval.

    Attributes:
        metric: metric name.
        challenger: the challenger's value.
        champion: the incumbent's value.
        delta: ``challenger - champion`` (None when either is undefined).
        ci_low: lower end of the 95% bootstrap interval of the delta, or None.
        ci_high: upper end of that interval, or None.
        improved: whether the challenger is better (lower for losses/errors), or None.
        reason: why the delta or its interval is undefined.
    """

    metric: str
    challenger: float | None
    champion: float | None
    delta: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    improved: bool | None = None
    reason: str | None = None


class Comparison(_Frozen):
    """Champion (the incumbent) against challenger on identical rows.

    Attributes:
        champion_metrics: the incumbent's metrics.
        champion_reasons: why an incumbent metric is None.
        deltas: challenger minus champion, per metric.
        bootstrap: the number of paired bootstrap replicates.
        champion_curves: the incumbent's ROC, PR and calibration curves (binary tasks).
    """

    champion_metrics: dict[str, float | None]
    champion_reasons: dict[str, str] = {}
    deltas: list[MetricDelta]
    bootstrap: int
    champion_curves: dict[str, Any] = {}


class SliceResult(_Frozen):
    """One slice of the test set: a column value or a quantile bin.

    Attributes:
        column: the slicing column.
        value: the value or bin label (``<missing>`` for null values).
        n: rows in the slice.
        metric: the slice metric name.
        challenger: the challenger's metric on the slice.
        reference: what it is compared with: the champion on the same slice, or with no incumbent,
            the challenger's overall value.
        drop: how much worse the challenger is than the reference (positive = worse).
        flagged: ``drop > slice_threshold``.
        reason: why a value is None (empty slice, one class only...).
    """

    column: str
    value: str
    n: int
    metric: str
    challenger: float | None
    reference: float | None
    drop: float | None
    flagged: bool
    reason: str | None = None


class FacetBias(_Frozen):
    """Clarify bias metrics for one sensitive column and facet value (facet d = that value).

    Attributes:
        column: the sensitive column.
        facet: the facet value (facet d); facet a is every other row.
        n_d: rows in facet d.
        n_a: rows in facet a.
        pre_training: CI, DPL, KL, JS, LP, TVD, KS, CDDL.
        post_training: DPPL, DI, DCAcc, DCR, SD, RD, DAR, DRR, AD, CDDPL, TE, FT, GE.
        reasons: why a metric is None.
    """

    column: str
    facet: str
    n_d: int
    n_a: int
    pre_training: dict[str, float | None]
    post_training: dict[str, float | None]
    reasons: dict[str, str] = {}

    def metric(self, name: str) -> float | None:
        """One bias metric by its Clarify name."""
        return self.pre_training.get(name, self.post_training.get(name))


class EvaluationReport(_Frozen):
    """Everything an evaluation found: metrics, comparison, slices, bias and explanations.

    Attributes:
        task: ``binary``, ``multiclass`` or ``regression``.
        label: the label column.
        n_rows: test rows evaluated.
        classes: class labels as strings (classification).
        positive_label: the favorable class as a string (binary), or None.
        metrics: the challenger's metrics; undefined ones are None.
        reasons: why a metric is None.
        confusion_matrix: ``{"labels", "matrix"}`` (classification), or None.
        curves: ``roc``, ``pr`` and ``calibration`` point lists (binary).
        comparison: champion vs challenger, or None without an incumbent.
        slice_metric: the metric compared across slices.
        slice_threshold: the drop above which a slice is flagged.
        slices: one entry per slice.
        max_slice_drop: the largest slice drop, or None with ``max_slice_drop_reason``.
        max_slice_drop_reason: why ``max_slice_drop`` is None.
        bias: one entry per sensitive column and facet value.
        explanation: SHAP attributions.
        warnings: things a reader should know (capped slices, skipped sections).
    """

    task: str
    label: str
    n_rows: int
    classes: list[str] = []
    positive_label: str | None = None
    metrics: dict[str, float | None]
    reasons: dict[str, str] = {}
    confusion_matrix: dict[str, Any] | None = None
    curves: dict[str, Any] = {}
    comparison: Comparison | None = None
    slice_metric: str | None = None
    slice_threshold: float = 0.02
    slices: list[SliceResult] = []
    max_slice_drop: float | None = None
    max_slice_drop_reason: str | None = None
    bias: list[FacetBias] = []
    explanation: Explanation = Explanation(status="skipped", reason="not requested")
    warnings: list[str] = []

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dictionary (no NaN, no numpy types)."""
        return self.model_dump(mode="json")

    def to_json(self, *, indent: int | None = None) -> str:
        """The report as strict JSON (``allow_nan=False``)."""
        return json.dumps(self.to_dict(), allow_nan=False, indent=indent)

    def _repr_html_(self) -> str:
        from loopml.core.fragments import notebook
        from loopml.evaluate.html import render_fragment

        return notebook(render_fragment(self))
