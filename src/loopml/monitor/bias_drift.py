"""Bias drift: are a window's post-training bias metrics still inside the baseline's bounds? (SageMaker Clarify).

A bias-drift monitor joins captured predictions with ground truth, computes Clarify's post-training metrics
(``DPPL``, ``DI``, ``DCA``, …, see :func:`loopml.evaluate.bias.post_training`) for facet ``d`` — the rows
whose ``facet`` column holds one of ``facet_values`` — against the rest, and reports a
``bias_drift_check`` violation for every metric outside its ``[low, high]`` bound. A window with fewer
labelled rows than ``min_rows``, without the facet column, or with only one facet group is
``insufficient_data``, never a violation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from loopml.monitor import violations as v

BIAS_DRIFT_CHECK = "bias_drift_check"


@dataclass(frozen=True)
class BiasDriftReport:
    """The result of :func:`check_bias_drift`.

    Attributes:
        status: ``ok``, ``violations`` or ``insufficient_data``.
        item_count: Labelled rows in the window.
        facet: The facet column.
        metrics: Post-training bias metric name to value (None where undefined); empty when insufficient.
        violations: One ``bias_drift_check`` violation per metric outside its bounds.
        reason: Why the window was insufficient, else None.
    """

    status: str
    item_count: int
    facet: str
    metrics: dict[str, float | None]
    violations: tuple[v.Violation, ...] = ()
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``constraint_violations.json`` body."""
        return v.violations_document(self.violations)


def check_bias_drift(
    window: pd.DataFrame,
    facet: str,
    *,
    facet_values: Iterable[Any],
    bounds: Mapping[str, Sequence[float]],
    label_values: Iterable[Any] = (1,),
    min_rows: int = 30,
) -> BiasDriftReport:
    """Check a labelled window's post-training bias metrics against the baseline bounds.

    Args:
        window: One row per labelled prediction, with columns ``facet``, ``label`` and ``prediction``.
        facet: The column that splits the rows into facet ``d`` and the rest.
        facet_values: Values of ``facet`` that make a row part of facet ``d``.
        bounds: Metric name to ``[low, high]``, e.g. ``{"DPPL": [-0.1, 0.1]}``.
        label_values: Label and prediction values that count as favorable.
        min_rows: Fewest labelled rows checked; fewer is ``insufficient_data``.

    Returns:
        A :class:`BiasDriftReport`.

    Example:
        >>> frame = pd.DataFrame({"sex": ["f", "m"] * 50, "label": [1, 0] * 50, "prediction": [0, 1] * 50})
        >>> report = check_bias_drift(frame, "sex", facet_values=["f"], bounds={"DPPL": [-0.1, 0.1]})
        >>> report.status, report.metrics["DPPL"]
        ('violations', 1.0)
    """
    if facet not in window or len(window) < min_rows:
        return _insufficient(len(window), facet, f"{len(window)} labelled rows with facet {facet!r}; need more")
    in_d = window[facet].isin(list(facet_values)).to_numpy()
    if in_d.all() or not in_d.any():
        return _insufficient(len(window), facet, f"facet {facet!r} has only one group in this window")
    from loopml.evaluate import bias

    favorable = list(label_values)
    values, _ = bias.post_training(in_d, window["label"].isin(favorable).to_numpy(),
                                   window["prediction"].isin(favorable).to_numpy())
    found = tuple(_outside(values, bounds, facet))
    metrics = {k: (None if val is None else float(val)) for k, val in values.items()}
    return BiasDriftReport(v.VIOLATIONS if found else v.OK, len(window), facet, metrics, found)


def _outside(values: Mapping[str, Any], bounds: Mapping[str, Sequence[float]], facet: str) -> list[v.Violation]:
    found = []
    for metric, (low, high) in ((k, tuple(b)) for k, b in bounds.items()):
        value = values.get(metric)
        if value is not None and not low <= value <= high:
            found.append(v.Violation(
                BIAS_DRIFT_CHECK, f"{metric} for facet {facet!r} is {value:.4f}, outside the baseline bounds "
                f"[{low}, {high}]; review the model's treatment of this group and retrain or re-baseline.",
                feature_name=facet, metric_name=metric))
    return found


def _insufficient(count: int, facet: str, why: str) -> BiasDriftReport:
    return BiasDriftReport(v.INSUFFICIENT_DATA, count, facet, {}, (), why)
