"""Bias metrics with the names and definitions of SageMaker Clarify.

For a sensitive column and one of its values, facet *d* is the rows holding that value and facet
*a* is every other row. "Favorable" means the positive label. Pre-training metrics look at the
observed labels only; post-training metrics also use the model's predicted labels.

Pre-training: CI, DPL, KL, JS, LP, TVD, KS, CDDL. Post-training: DPPL, DI, DCAcc, DCR, SD, RD,
DAR, DRR, AD, CDDPL, TE, FT, GE. Signs follow Clarify: a positive difference means facet *d* is
worse off (for example ``DPPL = q'a - q'd``; ``SD = TNRd - TNRa``). A metric that cannot be
computed (a denominator of zero, one group only) is None with a reason, never NaN.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from loopml.evaluate.metrics import finite

PRE_TRAINING = ("CI", "DPL", "KL", "JS", "LP", "TVD", "KS", "CDDL")
POST_TRAINING = ("DPPL", "DI", "DCAcc", "DCR", "SD", "RD", "DAR", "DRR", "AD", "CDDPL", "TE", "FT", "GE")


@dataclass
class _Out:
    values: dict[str, float | None] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)

    def put(self, name: str, value: Any, why: str) -> None:
        number = finite(value)
        self.values[name] = number
        if number is None:
            self.reasons[name] = why


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def pre_training(in_d: np.ndarray, labels: np.ndarray, favorable: np.ndarray, *,
                 groups: np.ndarray | None = None) -> tuple[dict[str, float | None], dict[str, str]]:
    """Clarify's pre-training metrics for facet ``d`` (``in_d``) against the rest.

    Args:
        in_d: boolean mask of facet d rows.
        labels: observed labels (their distribution feeds KL, JS, LP, TVD and KS).
        favorable: boolean mask of rows whose observed label is the favorable one.
        groups: subgroup of each row for CDDL, or None (CDDL is then undefined).
    """
    out = _Out()
    n_d, n_a = int(in_d.sum()), int((~in_d).sum())
    one_group = "facet a is empty: every row holds this value, so the facets cannot be compared"
    out.put("CI", _ratio(n_a - n_d, n_a + n_d), "no rows")
    out.put("DPL", _diff(_ratio(favorable[~in_d].sum(), n_a), _ratio(favorable[in_d].sum(), n_d)), one_group)
    if n_a == 0:
        for name in ("KL", "JS", "LP", "TVD", "KS"):
            out.put(name, None, one_group)
    else:
        _distribution_metrics(out, labels[~in_d], labels[in_d], np.unique(labels))
    _cdd(out, "CDDL", in_d, favorable, groups)
    return out.values, out.reasons


def _diff(a: float | None, d: float | None) -> float | None:
    return None if a is None or d is None else a - d


def _distribution_metrics(out: _Out, labels_a: np.ndarray, labels_d: np.ndarray, values: np.ndarray) -> None:
    pa = np.array([np.mean(labels_a == v) for v in values])
    pd_ = np.array([np.mean(labels_d == v) for v in values])
    if np.any((pa > 0) & (pd_ == 0)):
        out.put("KL", None, "facet d has no rows with a label that facet a has, so KL is infinite")
    else:
        keep = pa > 0
        out.put("KL", np.sum(pa[keep] * np.log(pa[keep] / pd_[keep])), "")
    mid = (pa + pd_) / 2
    out.put("JS", 0.5 * (_kl(pa, mid) + _kl(pd_, mid)), "")
    out.put("LP", np.sqrt(np.sum((pa - pd_) ** 2)), "")
    out.put("TVD", 0.5 * np.sum(np.abs(pa - pd_)), "")
    out.put("KS", np.max(np.abs(pa - pd_)), "")


def _kl(p: np.ndarray, q: np.ndarray) -> float:
    keep = p > 0
    return float(np.sum(p[keep] * np.log(p[keep] / q[keep])))


def _cdd(out: _Out, name: str, in_d: np.ndarray, favorable: np.ndarray, groups: np.ndarray | None) -> None:
    """Conditional demographic disparity: ``sum_i n_i DD_i / n`` over the subgroups ``groups``.

    ``DD = nd(0)/n(0) - nd(1)/n(1)``: facet d's share of the rejected minus its share of the
    accepted. A subgroup without rejected (or accepted) rows contributes a share of 0 for that side.
    """
    if groups is None:
        out.put(name, None, "no group_variable was given; pass group_variable= to compute it")
        return
    total, labels = 0.0, groups.astype(str)
    for group in np.unique(labels):
        rows = labels == group
        rejected, accepted = rows & ~favorable, rows & favorable
        share_rej = _ratio((rejected & in_d).sum(), rejected.sum()) or 0.0
        share_acc = _ratio((accepted & in_d).sum(), accepted.sum()) or 0.0
        total += rows.sum() * (share_rej - share_acc)
    out.put(name, total / len(in_d) if len(in_d) else None, "no rows")


def post_training(in_d: np.ndarray, favorable: np.ndarray, predicted: np.ndarray, *,
                  groups: np.ndarray | None = None, features: np.ndarray | None = None,
                  neighbors: int = 5, max_rows: int = 2000,
                  seed: int = 0) -> tuple[dict[str, float | None], dict[str, str]]:
    """Clarify's post-training metrics for facet ``d`` (``in_d``) against the rest.

    Args:
        in_d: boolean mask of facet d rows.
        favorable: boolean mask of rows whose observed label is favorable.
        predicted: boolean mask of rows the model predicts as favorable.
        groups: subgroup of each row for CDDPL, or None.
        features: numeric feature matrix for the flip test (FT), or None.
        neighbors: k of the k-nearest-neighbour flip test.
        max_rows: facet rows sampled for FT (the flip test is O(n_d * n_a)).
        seed: seed of that sample.
    """
    out = _Out()
    a, d = _counts(~in_d, favorable, predicted), _counts(in_d, favorable, predicted)
    empty = "facet a is empty: every row holds this value, so the facets cannot be compared"
    for name, fn in _POST.items():
        value = None if a["n"] == 0 else fn(a, d)
        out.put(name, value, empty if a["n"] == 0 else _WHY[name])
    _cdd(out, "CDDPL", in_d, predicted, groups)
    _flip_test(out, in_d, predicted, features, neighbors=neighbors, max_rows=max_rows, seed=seed)
    out.put("GE", generalized_entropy(favorable, predicted), "the mean benefit is 0")
    return out.values, out.reasons


def _counts(rows: np.ndarray, y: np.ndarray, p: np.ndarray) -> dict[str, int]:
    return {
        "n": int(rows.sum()), "tp": int((rows & y & p).sum()), "fp": int((rows & ~y & p).sum()),
        "tn": int((rows & ~y & ~p).sum()), "fn": int((rows & y & ~p).sum()),
        "y1": int((rows & y).sum()), "y0": int((rows & ~y).sum()),
        "p1": int((rows & p).sum()), "p0": int((rows & ~p).sum()),
    }


def _rate(c: dict[str, int], num: str, den: str) -> float | None:
    return _ratio(c[num], c[den])


def _sub(x: float | None, y: float | None) -> float | None:
    return None if x is None or y is None else x - y


def _te(a: dict[str, int], d: dict[str, int]) -> float | None:
    return _sub(_ratio(d["fn"], d["fp"]), _ratio(a["fn"], a["fp"]))


_POST = {
    "DPPL": lambda a, d: _sub(_rate(a, "p1", "n"), _rate(d, "p1", "n")),
    "DI": lambda a, d: _ratio(_rate(d, "p1", "n") or 0.0, _rate(a, "p1", "n") or 0.0)
    if d["n"] else None,
    "DCAcc": lambda a, d: _sub(_rate(a, "y1", "p1"), _rate(d, "y1", "p1")),
    "DCR": lambda a, d: _sub(_rate(d, "y0", "p0"), _rate(a, "y0", "p0")),
    "SD": lambda a, d: _sub(_rate(d, "tn", "y0"), _rate(a, "tn", "y0")),
    "RD": lambda a, d: _sub(_rate(a, "tp", "y1"), _rate(d, "tp", "y1")),
    "DAR": lambda a, d: _sub(_rate(a, "tp", "p1"), _rate(d, "tp", "p1")),
    "DRR": lambda a, d: _sub(_rate(d, "tn", "p0"), _rate(a, "tn", "p0")),
    "AD": lambda a, d: _sub(_ratio(a["tp"] + a["tn"], a["n"]), _ratio(d["tp"] + d["tn"], d["n"])),
    "TE": _te,
}
_WHY = {
    "DPPL": "a facet has no rows",
    "DI": "facet a has no predicted-favorable rows, so the ratio divides by 0",
    "DCAcc": "a facet has no predicted-favorable rows",
    "DCR": "a facet has no predicted-unfavorable rows",
    "SD": "a facet has no rows with an unfavorable label",
    "RD": "a facet has no rows with a favorable label",
    "DAR": "a facet has no predicted-favorable rows",
    "DRR": "a facet has no predicted-unfavorable rows",
    "AD": "a facet has no rows",
    "TE": "a facet has no false positives, so FN/FP divides by 0",
}


def generalized_entropy(favorable: np.ndarray, predicted: np.ndarray, alpha: float = 2.0) -> float | None:
    """Generalized entropy index of the benefits ``b_i = y'_i - y_i + 1`` (Clarify GE, alpha 2)."""
    benefit = predicted.astype(float) - favorable.astype(float) + 1.0
    mean = benefit.mean() if len(benefit) else 0.0
    if mean == 0:
        return None
    return finite(np.mean((benefit / mean) ** alpha - 1) / (alpha * (alpha - 1)))


def _flip_test(out: _Out, in_d: np.ndarray, predicted: np.ndarray, features: np.ndarray | None, *,
               neighbors: int, max_rows: int, seed: int) -> None:
    """FT = (F+ - F-) / n_d using the majority prediction of the k nearest facet-a rows."""
    if features is None or features.shape[1] == 0:
        out.put("FT", None, "no numeric feature columns to find nearest neighbours on")
        return
    if in_d.all() or not in_d.any():
        out.put("FT", None, "facet a is empty: every row holds this value, so the facets cannot be compared")
        return
    from sklearn.neighbors import NearestNeighbors
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(seed)
    d_rows, a_rows = _sample(np.nonzero(in_d)[0], max_rows, rng), _sample(np.nonzero(~in_d)[0], 5 * max_rows, rng)
    scale = features.std(axis=0)
    scaled = (features - features.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
    k = min(neighbors, len(a_rows))
    with threadpool_limits(1):  # threaded BLAS waits for busy cores; one thread is 4x faster here
        index = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(scaled[a_rows])
        _, nearest = index.kneighbors(scaled[d_rows])
    counterfactual = predicted[a_rows][nearest].mean(axis=1) > 0.5
    own = predicted[d_rows]
    f_plus, f_minus = int(np.sum(~own & counterfactual)), int(np.sum(own & ~counterfactual))
    out.put("FT", (f_plus - f_minus) / len(d_rows), "")


def _sample(rows: np.ndarray, limit: int, rng: np.random.Generator) -> np.ndarray:
    return rows if len(rows) <= limit else np.sort(rng.choice(rows, limit, replace=False))
