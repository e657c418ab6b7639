"""Cutting the test set into slices and scoring the challenger on each one.

A column with more than ``max_bins`` distinct numeric values is cut into quantile bins; any other
column is sliced per value (the ``max_values`` most frequent, the rest reported in a warning).
Null values form their own ``<missing>`` slice. Empty and constant slices never raise: the value
is None with a reason.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from loopml.evaluate.metrics import LOWER_IS_BETTER
from loopml.evaluate.report import SliceResult

MISSING = "<missing>"
SliceScore = Callable[[np.ndarray], tuple[float | None, str | None]]


def slice_masks(frame: pd.DataFrame, column: str, *, bins: int = 5, max_values: int = 50,
                warnings: list[str] | None = None) -> list[tuple[str, np.ndarray]]:
    """``(label, boolean mask)`` for every slice of ``column``."""
    series = frame[column]
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series) \
            and series.nunique() > max(bins, 10):
        cut = pd.qcut(series, q=bins, duplicates="drop")
        masks = [(str(interval), (cut == interval).to_numpy()) for interval in cut.cat.categories]
    else:
        masks = _value_masks(series, column, max_values, warnings)
    missing = series.isna().to_numpy()
    if missing.any():
        masks.append((MISSING, missing))
    return masks


def _value_masks(series: pd.Series, column: str, max_values: int,
                 warnings: list[str] | None) -> list[tuple[str, np.ndarray]]:
    if isinstance(series.dtype, pd.CategoricalDtype):
        values = list(series.cat.categories)
    else:
        values = list(series.value_counts(dropna=True).index)
    if len(values) > max_values and warnings is not None:
        warnings.append(f"slice column {column!r} has {len(values)} values; only the {max_values} most "
                        "frequent are reported")
    return [(str(v), (series == v).to_numpy()) for v in values[:max_values]]


def score_slices(frame: pd.DataFrame, columns: tuple[str, ...], *, metric: str, challenger: SliceScore,
                 champion: SliceScore | None, overall: float | None, threshold: float,
                 warnings: list[str]) -> list[SliceResult]:
    """Score every slice and flag those where the challenger is worse than the reference by more
    than ``threshold``. The reference is the champion on the same rows, or the challenger's
    ``overall`` value when there is no champion.
    """
    results = []
    for column in columns:
        for label, mask in slice_masks(frame, column, warnings=warnings):
            results.append(_one(column, label, mask, metric=metric, challenger=challenger,
                                champion=champion, overall=overall, threshold=threshold))
    return results


def _one(column: str, label: str, mask: np.ndarray, *, metric: str, challenger: SliceScore,
         champion: SliceScore | None, overall: float | None, threshold: float) -> SliceResult:
    n = int(mask.sum())
    if n == 0:
        return SliceResult(column=column, value=label, n=0, metric=metric, challenger=None, reference=None,
                           drop=None, flagged=False, reason="empty slice: no test rows have this value")
    value, why = challenger(mask)
    reference, ref_why = champion(mask) if champion is not None else (overall, None)
    drop = slice_drop(metric, value, reference)
    if drop is None and why is None:
        why = ref_why or "the reference value is undefined"
    return SliceResult(column=column, value=label, n=n, metric=metric, challenger=value, reference=reference,
                       drop=drop, flagged=drop is not None and drop > threshold, reason=why)


def slice_drop(metric: str, value: float | None, reference: float | None) -> float | None:
    """How much worse ``value`` is than ``reference`` (positive = worse) for ``metric``."""
    if value is None or reference is None:
        return None
    return value - reference if metric in LOWER_IS_BETTER else reference - value


def max_drop(results: list[SliceResult], requested: bool) -> tuple[float | None, str | None]:
    """The largest defined slice drop, or None with the reason."""
    drops = [r.drop for r in results if r.drop is not None]
    if drops:
        return max(drops), None
    if not requested:
        return None, "no slices were requested; pass slices=[column, ...]"
    return None, "no slice has a defined metric (all slices are empty or undefined)"
