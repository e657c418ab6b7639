"""Fixtures for the model-format tests: a mixed-type frame with a binary label."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="session")
def mixed() -> tuple[pd.DataFrame, pd.Series]:
    """200 rows of int, float, string and bool columns, with a label that depends on them."""
    rng = np.random.default_rng(7)
    n = 200
    frame = pd.DataFrame({
        "age": rng.integers(18, 80, n),
        "income": rng.normal(50.0, 10.0, n),
        "city": rng.choice(["oslo", "rome", "lima"], n),
        "member": rng.random(n) > 0.5,
    })
    label = ((frame["age"] > 40) ^ (frame["city"] == "rome")).astype(int)
    return frame, label


@pytest.fixture(scope="session")
def numeric(mixed: tuple[pd.DataFrame, pd.Series]) -> tuple[pd.DataFrame, pd.Series]:
    """The numeric columns of the mixed frame, as float64."""
    frame, label = mixed
    return frame[["age", "income"]].astype("float64"), label
