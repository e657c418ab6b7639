"""Categorical drift against a baseline that lists only its most frequent values.

A baseline's ``string_statistics`` lists category counts in ``distribution.categorical.buckets``: loopml
lists up to 10,000 values, Model Monitor (Deequ) up to 1,000. The values left out are never pooled into
one bucket and compared as if they were a category. Each unlisted baseline value has a frequency of at
most ``u`` = min(least listed count, unlisted mass) / num_present, which is at most ``1 / (K + 1)`` when ``K``
values are listed; every unlisted value is estimated at the unlisted mass spread over the unlisted distinct
values, a number in ``[0, u]``. So:

* when every baseline value is listed, the L-infinity distance is exact;
* otherwise it is within ``u`` of the exact one (``linf_error`` reports ``u``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from loopml.monitor import _distance as dist


@dataclass(frozen=True)
class Summary:
    """A baseline feature's category counts: the listed ones, all present values, distinct values."""

    listed: dict[str, float]
    present: float
    distinct: float

    @classmethod
    def of(cls, feature: dict[str, Any]) -> Summary:
        stats = feature.get("string_statistics") or {}
        buckets = stats.get("distribution", {}).get("categorical", {}).get("buckets", []) or []
        listed: dict[str, float] = {}
        for bucket in buckets:
            key = str(bucket.get("value"))
            listed[key] = listed.get(key, 0.0) + float(bucket.get("count") or 0)
        present = float(stats.get("common", {}).get("num_present") or 0)
        distinct = float(stats.get("distinct_count") or len(listed))
        return cls(listed, max(present, sum(listed.values())), distinct)

    @property
    def unlisted(self) -> float:
        """Baseline values not listed individually."""
        return max(self.present - sum(self.listed.values()), 0.0)

    @property
    def error(self) -> float:
        """The largest frequency any unlisted value can have (0 when all are listed)."""
        if self.unlisted <= 0 or self.present <= 0:
            return 0.0
        smallest = min(self.listed.values(), default=self.unlisted)
        return min(smallest, self.unlisted) / self.present


def compare(summary: Summary, window: dict[str, int]) -> tuple[dist.Distances, float]:
    """Distances between the baseline summary and the window's exact counts, and the L-infinity error bound."""
    n_win = float(sum(window.values()))
    keys = list(summary.listed)
    base = [summary.listed[k] / summary.present for k in keys]
    win = [window.get(k, 0) / n_win for k in keys]
    new = [count for key, count in window.items() if key not in summary.listed]
    unlisted_values = _unlisted_values(summary, len(new))
    each = summary.unlisted / unlisted_values / summary.present if unlisted_values else 0.0
    base += [each] * len(new) + [each]
    win += [c / n_win for c in new] + [0.0]
    weights = np.ones(len(base))
    weights[-1] = max(unlisted_values - len(new), 0)
    found = dist.categorical_distances(np.asarray(base), np.asarray(win), weights)
    return found, summary.error


def _unlisted_values(summary: Summary, seen: int) -> int:
    """How many distinct baseline values are unlisted (at least enough to keep each within the bound)."""
    if summary.unlisted <= 0:
        return 0
    smallest = min(summary.listed.values(), default=summary.unlisted)
    return max(int(summary.distinct) - len(summary.listed), math.ceil(summary.unlisted / smallest), seen, 1)
