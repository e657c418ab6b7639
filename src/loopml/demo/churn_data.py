"""A synthetic customer-churn table with a known signal, optional drift, and a sensitive attribute.

Deterministic for a given seed, so demo runs and tests are reproducible.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PLANS = ("basic", "plus", "pro")
REGIONS = ("north", "south", "east", "west")


def make_churn(n: int = 5000, *, seed: int = 0, drift: float = 0.0, start: str = "2026-01-01") -> pd.DataFrame:
    """Generate ``n`` customers with features, a churn label and an event time.

    Args:
        n: number of rows.
        seed: random seed (same seed, same table).
        drift: 0 for the training distribution; larger values shift usage down, support calls up,
            change the plan mix, and change how the features relate to churn, as a market change would.
        start: first signup date; event times spread over the following 60 days.

    Returns:
        Columns: customer_id, event_time (UTC), tenure_months, monthly_charges, support_calls,
        usage_hours, plan, region, gender, churned (0/1).
    """
    rng = np.random.default_rng(seed)
    plan_p = np.array([0.5, 0.3, 0.2]) if drift == 0 else np.array([0.2, 0.3, 0.5])
    plan = rng.choice(PLANS, size=n, p=plan_p)
    tenure = rng.gamma(2.0, 12.0, size=n).round().clip(1, 120)
    charges = (20 + 25 * (plan == "plus") + 55 * (plan == "pro") + rng.normal(0, 8, n)).round(2)
    calls = rng.poisson(1.2 + 1.5 * drift, size=n)
    usage = np.clip(rng.normal(40 - 12 * drift, 12, n), 0, None).round(1)
    gender = rng.choice(("female", "male"), size=n)
    logit = -1.2 - 0.04 * tenure + 0.02 * charges + 0.55 * calls - 0.05 * usage
    # after drift the market behaves differently too (concept drift): calls matter more, usage stops protecting
    logit = logit + drift * (0.6 * calls + 0.07 * usage - 0.02 * charges - 1.5)
    churned = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype("int64")
    events = pd.Timestamp(start, tz="UTC") + pd.to_timedelta(rng.integers(0, 60 * 24 * 3600, n), unit="s")
    return pd.DataFrame({
        "customer_id": np.arange(1, n + 1, dtype="int64") + seed * 1_000_000,
        "event_time": events,
        "tenure_months": tenure.astype("int64"),
        "monthly_charges": charges,
        "support_calls": calls.astype("int64"),
        "usage_hours": usage,
        "plan": plan,
        "region": rng.choice(REGIONS, size=n),
        "gender": gender,
        "churned": churned,
    })
