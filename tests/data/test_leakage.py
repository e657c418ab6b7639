from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loopml.data import detect_leakage
from loopml.errors import ValidationError


def _frame(n: int = 1000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    label_at = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 100, n), unit="D")
    return pd.DataFrame({
        "churned": y, "noise": rng.normal(size=n), "useful": y + rng.normal(scale=1.5, size=n),
        "status": np.where(y == 1, "closed", "open"), "refund": y * 40 + rng.normal(scale=0.01, size=n),
        "customer_id": np.arange(n), "plan": rng.choice(["a", "b", "c"], n), "label_at": label_at,
        "signup_at": label_at - pd.to_timedelta(rng.integers(1, 300, n), unit="D"),
        "cancelled_at": label_at + pd.to_timedelta(rng.integers(-5, 20, n), unit="D"),
    })


def test_flags_leaks_with_reasons_and_spares_honest_features() -> None:
    report = detect_leakage(_frame(), "churned", label_time="label_at")
    assert report.task == "classification" and report.metric == "roc_auc"
    assert report.flagged == ["cancelled_at", "refund", "status"]
    reasons = {(f.feature, f.kind): f.reason for f in report.findings}
    assert "one-to-one" in reasons[("status", "near_copy")]
    assert "cross-validated AUC 1.000" in reasons[("refund", "predictive")]
    assert "later than the label time in" in reasons[("cancelled_at", "time_after_label")]
    assert report.scores["useful"] < 0.95 and report.scores["customer_id"] < 0.7
    assert report.to_dict()["flagged"] == report.flagged


def test_regression_target_and_scalar_label_time() -> None:
    df = _frame().assign(amount=lambda d: d.noise * 3 + 1)
    report = detect_leakage(df.drop(columns=["churned", "refund", "status"]), "amount",
                            label_time="2024-03-01")
    assert report.task == "regression" and report.metric == "r2"
    assert {"noise", "cancelled_at", "label_at"} <= set(report.flagged)


def test_threshold_and_bad_arguments() -> None:
    df = _frame(400)
    assert "useful" in detect_leakage(df, "churned", threshold=0.6).flagged
    with pytest.raises(ValidationError, match="target 'nope' is not a column"):
        detect_leakage(df, "nope")
    with pytest.raises(ValidationError, match="neither a column nor a timestamp"):
        detect_leakage(df, "churned", label_time="not a time")


def test_tiny_or_single_class_data_does_not_crash() -> None:
    report = detect_leakage(pd.DataFrame({"y": [1, 1, 1], "x": [1, 2, 3]}), "y")
    assert report.scores == {"x": None} and report.findings == ()
