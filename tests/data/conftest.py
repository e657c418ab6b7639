"""Fixtures for the data tests: a small churn-like frame written as CSV, Parquet and JSON Lines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest


def churn_frame(n: int = 200, *, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    plan = rng.choice(["basic", "pro", "team"], n)
    tenure = rng.integers(1, 60, n)
    spend = np.round(rng.gamma(2.0, 30.0, n), 2)
    churned = (rng.random(n) < 0.2 + 0.2 * (plan == "basic")).astype(int)
    return pd.DataFrame({"customer_id": np.arange(1, n + 1), "plan": plan, "tenure": tenure, "spend": spend,
                         "churned": churned})


@pytest.fixture
def churn_csv(home: Path, tmp_path: Path) -> Path:
    path = tmp_path / "churn.csv"
    churn_frame().to_csv(path, index=False)
    return path
