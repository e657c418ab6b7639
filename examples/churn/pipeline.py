"""The churn example: generate data, split, train, evaluate, and publish only a good enough model.

Run it with ``loopml pipeline run examples/churn/pipeline.py:churn -p max_depth=4``
(or ``loopml demo``, which runs it twice to show the cache).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from loopml.pipelines import pipeline, step, when

FEATURES = ["tenure_months", "monthly_charges", "support_calls", "usage_hours", "plan", "region"]


@step
def generate(n_rows: int = 5000, seed: int = 0) -> pd.DataFrame:
    """A reproducible synthetic churn table (the package generates it)."""
    from loopml.demo.churn_data import make_churn

    return make_churn(n_rows, seed=seed)


@step
def split(data: pd.DataFrame, test_fraction: float = 0.25) -> dict:
    """Split by event time: train on the past, test on the most recent rows (no leakage from the future)."""
    cut = data["event_time"].quantile(1 - test_fraction)
    return {"cutoff": cut.isoformat(), "n_train": int((data["event_time"] < cut).sum()),
            "n_test": int((data["event_time"] >= cut).sum())}


def _frames(data: pd.DataFrame, cutoff: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    when_ = pd.Timestamp(cutoff)
    return data[data["event_time"] < when_], data[data["event_time"] >= when_]


def _model(max_depth: int, learning_rate: float):  # noqa: ANN202
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    encode = ColumnTransformer(
        [("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["plan", "region"])],
        remainder="passthrough",
    )
    booster = HistGradientBoostingClassifier(max_depth=max_depth, learning_rate=learning_rate, random_state=0)
    return Pipeline([("encode", encode), ("model", booster)])


@step
def train(data: pd.DataFrame, split_info: dict, max_depth: int = 3, learning_rate: float = 0.1) -> dict:
    """Fit a gradient-boosted classifier on the training rows and score the held-out rows."""
    from sklearn.metrics import accuracy_score, roc_auc_score

    train_df, test_df = _frames(data, split_info["cutoff"])
    model = _model(max_depth, learning_rate).fit(train_df[FEATURES], train_df["churned"])
    proba = model.predict_proba(test_df[FEATURES])[:, 1]
    return {
        "auc": float(roc_auc_score(test_df["churned"], proba)),
        "accuracy": float(accuracy_score(test_df["churned"], proba > 0.5)),
        "churn_rate": float(np.mean(test_df["churned"])),
        "max_depth": max_depth,
    }


@step
def publish(metrics: dict) -> str:
    """Runs only when the model passed the bar."""
    return f"model with AUC {metrics['auc']:.3f} is ready for review"


@pipeline
def churn(n_rows: int = 5000, seed: int = 0, max_depth: int = 3, learning_rate: float = 0.1, min_auc: float = 0.7):
    data = generate(n_rows=n_rows, seed=seed)
    info = split(data)
    metrics = train(data, info, max_depth=max_depth, learning_rate=learning_rate)
    with when(metrics["auc"] >= min_auc):
        publish(metrics)
