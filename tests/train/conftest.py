"""Shared data for the training tests: a small churn table as a Parquet file and a catalog dataset."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from loopml.demo.churn_data import make_churn


def churn_frame(n: int = 600) -> pd.DataFrame:
    return make_churn(n, seed=1)[["tenure_months", "monthly_charges", "support_calls", "usage_hours", "churned"]]


@pytest.fixture
def churn_file(home: Path, tmp_path: Path) -> Path:
    path = tmp_path / "churn.parquet"
    churn_frame().to_parquet(path, index=False)
    return path
