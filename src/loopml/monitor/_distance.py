"""Distribution distances between a baseline sketch and a window, vectorised with numpy.

Numeric features are compared on the baseline's quantile sketch: ``points`` (sorted, unique values taken
at evenly spaced ranks of the baseline) and ``cdf`` (the exact baseline CDF at each point). The window is
bucketed against the points with one ``searchsorted`` and two ``bincount``, which give the window CDF at
and just below the same points; the Kolmogorov-Smirnov statistic (the L-infinity distance between the
two CDFs) is the largest gap. It is exact when the baseline has at most ``k`` distinct values, and
within about ``1/k`` otherwise.

PSI and Jensen-Shannon are computed on coarser bins (baseline deciles for numeric features, one bin per
category for categorical ones), with probabilities floored at ``EPSILON`` so no logarithm sees a zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

EPSILON = 1e-4
"""Floor applied to bin probabilities in PSI (and only there), as is usual."""

KS_ALPHA = 0.01
"""Significance level of the two-sample KS guard used by the ``Robust`` comparison method."""


@dataclass(frozen=True)
class Distances:
    """The distances between one feature's baseline and window distributions.

    Attributes:
        linf: L-infinity distance: the KS statistic for numeric features, the largest difference of
            category frequencies for categorical ones. In [0, 1].
        psi: Population Stability Index (natural log, probabilities floored at ``EPSILON``).
        jensen_shannon: Jensen-Shannon distance (square root of the base-2 divergence), in [0, 1].
    """

    linf: float
    psi: float
    jensen_shannon: float


def window_cdf(points: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The window CDF at each sketch point, and just below it (``F(p)`` and ``F(p-)``)."""
    index = np.searchsorted(points, values, side="left")
    at_point = points[np.minimum(index, points.size - 1)] == values
    below_or_at = np.cumsum(np.bincount(index, minlength=points.size + 1))[: points.size]
    equal = np.bincount(index[at_point], minlength=points.size)
    return below_or_at / values.size, (below_or_at - equal) / values.size


def numeric_distances(points: np.ndarray, cdf: np.ndarray, values: np.ndarray) -> Distances:
    """Distances between a baseline quantile sketch and the finite window ``values`` (non-empty).

    Both CDFs are step functions, so the KS supremum is reached at a sketch point or just below one;
    the baseline's left limit at a point is taken as its CDF at the previous point (exact when the
    sketch holds every distinct baseline value, within one sketch step otherwise).
    """
    window_at, window_below = window_cdf(points, values)
    base_below = np.concatenate(([0.0], cdf[:-1]))
    linf = max(float(np.max(np.abs(window_at - cdf))), float(np.max(np.abs(window_below - base_below))))
    edges = _decile_edges(cdf)
    base_p = np.diff(np.concatenate(([0.0], cdf[edges], [1.0])))
    win_p = np.diff(np.concatenate(([0.0], window_at[edges], [1.0])))
    return Distances(
        linf=min(linf, 1.0), psi=psi(base_p, win_p), jensen_shannon=jensen_shannon(base_p, win_p)
    )


def categorical_distances(base_p: np.ndarray, win_p: np.ndarray, weights: np.ndarray | None = None) -> Distances:
    """Distances between two aligned vectors of category frequencies.

    ``weights[i]`` is how many categories share entry ``i`` (categories a baseline summary does not list
    individually all get the same estimated frequency, so they are one entry counted that many times).
    """
    active = np.ones(base_p.size, dtype=bool) if weights is None else weights > 0
    linf = float(np.max(np.abs(base_p - win_p)[active])) if active.any() else 0.0
    return Distances(linf=linf, psi=psi(base_p, win_p, weights), jensen_shannon=jensen_shannon(base_p, win_p, weights))


def psi(base_p: np.ndarray, win_p: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Population Stability Index of two probability vectors over the same bins."""
    b = np.maximum(base_p, EPSILON)
    w = np.maximum(win_p, EPSILON)
    return float(np.sum(_weighted((w - b) * np.log(w / b), weights)))


def jensen_shannon(base_p: np.ndarray, win_p: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Jensen-Shannon distance (base 2) of two probability vectors; 0 for identical, 1 for disjoint."""
    mid = (base_p + win_p) / 2.0
    divergence = 0.5 * _kl(base_p, mid, weights) + 0.5 * _kl(win_p, mid, weights)
    return float(math.sqrt(min(max(divergence, 0.0), 1.0)))


def _weighted(terms: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    return terms if weights is None else terms * weights


def ks_critical(n_base: int, n_window: int, alpha: float = KS_ALPHA) -> float:
    """The two-sample KS distance below which a difference is not significant at level ``alpha``."""
    c_alpha = math.sqrt(-math.log(alpha / 2.0) / 2.0)
    return c_alpha * math.sqrt((n_base + n_window) / (n_base * n_window))


def _kl(p: np.ndarray, q: np.ndarray, weights: np.ndarray | None = None) -> float:
    mask = p > 0
    terms = p[mask] * np.log2(p[mask] / q[mask])
    return float(np.sum(_weighted(terms, None if weights is None else weights[mask])))


def _decile_edges(cdf: np.ndarray) -> np.ndarray:
    """Indices of the sketch points closest to the baseline deciles (unique, increasing)."""
    levels = np.linspace(0.1, 0.9, 9)
    index = np.minimum(np.searchsorted(cdf, levels, side="left"), cdf.size - 1)
    return np.unique(index)
