"""Feature-attribution drift: has the ranking of what drives the model changed? (SageMaker Clarify).

Clarify compares the global attributions (mean absolute SHAP values) of a window with the baseline's by
nDCG: rank the features by their window attribution, score that ranking with the baseline attributions
as relevance, and divide by the score of the baseline's own ranking::

    DCG  = sum_i a(f'_i) / log2(i + 1)    # f'_i: i-th feature by window attribution, a: baseline value
    iDCG = sum_i a(f_i)  / log2(i + 1)    # f_i: i-th feature by baseline attribution
    nDCG = DCG / iDCG                     # 1.0 = same order; a violation when below the threshold

Attributions are compared by absolute value; ties in the window are broken by feature name so the
result is deterministic.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from loopml.errors import ValidationError
from loopml.monitor import violations as v


@dataclass(frozen=True)
class AttributionDriftReport:
    """The result of :func:`check_attribution_drift`.

    Attributes:
        status: ``ok``, ``violations``, or ``insufficient_data`` (no usable baseline or window values).
        ndcg: The nDCG score in [0, 1], or None with ``insufficient_data``.
        threshold: The lowest allowed nDCG.
        label: The label the attributions explain.
        missing_features: Baseline features absent from the window (ranked last, as zero).
        violations: A ``feature_attribution_drift_check`` violation when nDCG is below the threshold.
    """

    status: str
    ndcg: float | None
    threshold: float
    label: str
    missing_features: tuple[str, ...]
    violations: tuple[v.Violation, ...]

    def to_dict(self) -> dict[str, Any]:
        """The ``constraint_violations.json`` body, with Clarify's ``version``."""
        return {"version": "1.0", **v.violations_document(self.violations)}


def check_attribution_drift(
    baseline_attributions: Mapping[str, float],
    window_attributions: Mapping[str, float],
    *,
    threshold: float = 0.9,
    label: str = "label0",
) -> AttributionDriftReport:
    """Compare a window's global feature attributions with the baseline's by nDCG.

    Args:
        baseline_attributions: Feature name to global attribution (e.g. mean |SHAP|) on the baseline.
        window_attributions: The same for the monitoring window.
        threshold: Lowest nDCG accepted (Clarify uses 0.9).
        label: The label explained, echoed in the violation.

    Returns:
        An :class:`AttributionDriftReport`.

    Raises:
        ValidationError: ``threshold`` is outside (0, 1] or an attribution is not a finite number.

    Example:
        >>> report = check_attribution_drift({"a": 0.5, "b": 0.3, "c": 0.1}, {"a": 0.1, "b": 0.2, "c": 0.6})
        >>> report.status, round(report.ndcg, 3)
        ('violations', 0.729)
    """
    if not 0.0 < threshold <= 1.0:
        raise ValidationError(f"threshold is {threshold!r}; nDCG thresholds lie in (0, 1], e.g. 0.9.")
    base = _magnitudes(baseline_attributions, "baseline_attributions")
    window = _magnitudes(window_attributions, "window_attributions")
    missing = tuple(sorted(set(base) - set(window)))
    score = ndcg(base, window)
    if score is None or not window:
        return AttributionDriftReport(v.INSUFFICIENT_DATA, None, threshold, label, missing, ())
    if score >= threshold:
        return AttributionDriftReport(v.OK, score, threshold, label, missing, ())
    violation = v.Violation(
        v.FEATURE_ATTRIBUTION_DRIFT_CHECK,
        f"Feature attribution drift {score:.4f} exceeds threshold: nDCG is below {threshold}; the features "
        "driving predictions have changed order. Inspect the top features and retrain or re-baseline.",
        metric_name="shap",
        label=label,
    )
    return AttributionDriftReport(v.VIOLATIONS, score, threshold, label, missing, (violation,))


def ndcg(baseline: Mapping[str, float], window: Mapping[str, float]) -> float | None:
    """nDCG of the window's ranking scored by baseline relevance; None when the baseline is all zero."""
    ideal = sorted(baseline.values(), reverse=True)
    idcg = sum(rel / math.log2(i + 2) for i, rel in enumerate(ideal))
    if idcg <= 0.0:
        return None
    names = sorted(set(baseline) | set(window), key=lambda name: (-window.get(name, 0.0), name))
    dcg = sum(baseline.get(name, 0.0) / math.log2(i + 2) for i, name in enumerate(names))
    return min(dcg / idcg, 1.0)


def _magnitudes(values: Mapping[str, float], argument: str) -> dict[str, float]:
    result: dict[str, float] = {}
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise ValidationError(
                f"{argument}[{name!r}] is {value!r}; attributions must be finite numbers (e.g. mean |SHAP|).",
                value=value,
            )
        result[str(name)] = abs(float(value))
    return result
