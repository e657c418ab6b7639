"""Shared data and predictors for the evaluation tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from xgboost import XGBClassifier

FEATURES = ["a", "b", "c"]


class ScorePredictor:
    """A real (not mocked) predictor whose P(class 1) is the frame's ``score`` column."""

    classes_ = np.array([0, 1])

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        p = df["score"].to_numpy(dtype=float)
        return np.column_stack([1 - p, p])

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        return (df["score"].to_numpy() > 0.5).astype(int)


@pytest.fixture()
def score_predictor() -> ScorePredictor:
    return ScorePredictor()


@pytest.fixture(scope="session")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 2000
    frame = pd.DataFrame(rng.normal(size=(n, 3)), columns=FEATURES)
    frame["sex"] = rng.choice(["F", "M"], n)
    frame["region"] = rng.choice(["north", "south", "east"], n)
    noise = rng.normal(size=n) * 0.7
    frame["y"] = ((frame.a + frame.b + noise) > 0).astype(int)
    return frame


@pytest.fixture(scope="session")
def xgb(data: pd.DataFrame) -> XGBClassifier:
    return XGBClassifier(n_estimators=20, max_depth=3).fit(data[FEATURES], data["y"])


@pytest.fixture(scope="session")
def logreg(data: pd.DataFrame) -> LogisticRegression:
    return LogisticRegression().fit(data[FEATURES], data["y"])


@pytest.fixture(scope="session")
def weak(data: pd.DataFrame) -> LogisticRegression:
    """A worse model on the same signature: it only sees a noisy copy of ``c``."""
    x = data[FEATURES].copy()
    x["a"] = 0.0
    x["b"] = 0.0
    return LogisticRegression().fit(x, data["y"])
