"""KLL quantile sketches in the form Model Monitor's ``statistics.json`` holds them, read and written.

Model Monitor (through Deequ) writes ``distribution.kll.sketch`` as ``{"parameters": {"c", "k"}, "data":
[level 0, level 1, ...]}``: each level is a compactor's buffer, and an item at level ``h`` stands for ``2**h``
values of the column (``c`` is the shrinking factor, ``k`` the sketch size; Deequ's defaults are 0.64 and
2048). The baseline CDF is the weighted CDF of those items.

:func:`build_sketch` writes that form deterministically, so any Deequ reader loads it:

* when the column's distinct values, each written as the binary digits of its count (a value seen 5 times
  is one item at level 0 and one at level 2), need at most ``2k`` items, the sketch is **exact**;
* otherwise every item stands for ``2**h`` values taken at evenly spaced ranks (``h`` the smallest level that
  keeps the sketch within ``k`` items), and the sketch CDF is within ``2**h / n`` (below ``2 / k``, 0.001
  for ``k = 2048``) of the exact one everywhere.

Sketches written by loopml before this form (``c = 0``, ``data = [points, cdf]``) are still read.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from loopml.errors import ValidationError

DEEQU_C = 0.64
DEEQU_K = 2048


def build_sketch(ordered: np.ndarray, *, k: int = DEEQU_K, c: float = DEEQU_C) -> dict[str, Any]:
    """A KLL sketch of sorted, finite, non-empty ``ordered`` values (see the module doc)."""
    starts = np.concatenate(([0], np.flatnonzero(np.diff(ordered)) + 1))  # sorted input: runs, no re-sort
    values, counts = ordered[starts], np.diff(np.append(starts, ordered.size))
    exact = values.size <= 2 * k and _bits(counts) <= 2 * k
    levels = _exact_levels(values, counts) if exact else _ranked_levels(ordered, k)
    return {"parameters": {"c": c, "k": float(k)}, "data": [level.tolist() for level in levels]}


def sketch_cdf(sketch: Any, *, where: str = "sketch") -> tuple[np.ndarray, np.ndarray]:
    """The baseline CDF a sketch holds: sorted unique points and the CDF at each (empty when no data).

    Raises:
        ValidationError: ``data`` is not a list of lists of finite numbers.
    """
    data = sketch.get("data") if isinstance(sketch, dict) else None
    if data is None or data == []:
        return np.empty(0), np.empty(0)
    levels = _levels(data, where)
    if _is_points_and_cdf(sketch, levels):
        return levels[0], levels[1]
    weights = np.concatenate([np.full(level.size, 2.0**h) for h, level in enumerate(levels)])
    items = np.concatenate(levels)
    if items.size == 0:
        return np.empty(0), np.empty(0)
    points, inverse = np.unique(items, return_inverse=True)
    mass = np.bincount(inverse, weights=weights)
    return points, np.cumsum(mass) / mass.sum()


def _bits(counts: np.ndarray) -> int:
    return int(sum(int(n).bit_count() for n in counts.tolist()))


def _exact_levels(values: np.ndarray, counts: np.ndarray) -> list[np.ndarray]:
    top = int(counts.max()).bit_length()
    return [values[(counts >> h) & 1 == 1] for h in range(top)]


def _ranked_levels(ordered: np.ndarray, k: int) -> list[np.ndarray]:
    """Items of weight ``2**h`` at ranks ``2**h, 2 * 2**h, ...``; the remainder on the largest value."""
    n = ordered.size
    h = max(0, math.ceil(math.log2(n / k)))
    step = 1 << h
    levels = [np.empty(0) for _ in range(h + 1)]
    levels[h] = ordered[step - 1 :: step][: n // step]
    remainder = n - (n // step) * step
    for bit in range(h):
        if remainder >> bit & 1:
            levels[bit] = ordered[-1:]
    return levels


def _levels(data: Any, where: str) -> list[np.ndarray]:
    if not isinstance(data, list) or not all(isinstance(level, list) for level in data):
        raise ValidationError(f"{where}: kll.sketch.data must be a list of levels, each a list of numbers (as "
                              "Model Monitor writes it); re-create the baseline.", where=where)
    out = []
    for h, level in enumerate(data):
        if not all(isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x) for x in level):
            raise ValidationError(f"{where}: kll.sketch.data level {h} holds a value that is not a finite number; "
                                  "re-create the baseline.", where=where)
        out.append(np.asarray(level, dtype=np.float64))
    return out


def _is_points_and_cdf(sketch: dict[str, Any], levels: list[np.ndarray]) -> bool:
    """loopml's earlier sketch: ``c = 0`` and ``[points, cdf]`` with a CDF ending at 1."""
    c = (sketch.get("parameters") or {}).get("c")
    if c != 0 or len(levels) != 2 or levels[0].size != levels[1].size or levels[1].size == 0:
        return False
    cdf = levels[1]
    return bool(np.all(np.diff(cdf) >= 0) and cdf[-1] == 1.0 and np.all(np.diff(levels[0]) > 0))
