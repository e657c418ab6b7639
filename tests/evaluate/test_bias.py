"""Clarify bias metrics: hand-computed values and agreement with fairlearn."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference

from loopml.evaluate import evaluate
from loopml.evaluate.bias import POST_TRAINING, PRE_TRAINING, post_training, pre_training

# facet d = F (rows 0-3), facet a = M (rows 4-9)
SEX = ["F"] * 4 + ["M"] * 6
Y = [1, 0, 0, 0, 1, 1, 1, 0, 0, 1]
Y_HAT = [1, 1, 0, 0, 1, 1, 0, 0, 1, 1]
GROUP = ["x", "x", "y", "y", "x", "x", "x", "y", "y", "y"]


@pytest.fixture()
def table() -> pd.DataFrame:
    return pd.DataFrame({"sex": SEX, "g": GROUP, "score": [0.9 if p else 0.1 for p in Y_HAT], "y": Y})


def _facet(table: pd.DataFrame, predictor, value: str = "F"):
    report = evaluate(predictor, table, label="y", sensitive=["sex"], group_variable="g",
                      shap_sample=0, bootstrap=0)
    return next(f for f in report.bias if f.facet == value)


def test_pre_training_metrics_match_hand_computed_values(table: pd.DataFrame, score_predictor) -> None:
    f = _facet(table, score_predictor)
    pa, pd_ = np.array([1 / 3, 2 / 3]), np.array([3 / 4, 1 / 4])
    mid = (pa + pd_) / 2
    kl = float(np.sum(pa * np.log(pa / pd_)))
    js = 0.5 * (float(np.sum(pa * np.log(pa / mid))) + float(np.sum(pd_ * np.log(pd_ / mid))))
    expected = {"CI": 0.2, "DPL": 4 / 6 - 1 / 4, "KL": kl, "JS": js, "LP": 5 / 12 * math.sqrt(2),
                "TVD": 5 / 12, "KS": 5 / 12, "CDDL": 0.625}
    assert f.n_d == 4 and f.n_a == 6
    for name, value in expected.items():
        assert f.pre_training[name] == pytest.approx(value), name


def test_post_training_metrics_match_hand_computed_values(table: pd.DataFrame, score_predictor) -> None:
    f = _facet(table, score_predictor)
    expected = {"DPPL": 4 / 6 - 0.5, "DI": 0.5 / (4 / 6), "DCAcc": 1 - 0.5, "DCR": 1.5 - 1.0,
                "SD": 2 / 3 - 1 / 2, "RD": 3 / 4 - 1.0, "DAR": 3 / 4 - 1 / 2, "DRR": 1.0 - 1 / 2,
                "AD": 4 / 6 - 3 / 4, "TE": 0 / 1 - 1 / 1, "CDDPL": (5 * -0.5 + 5 * 2 / 3) / 10, "GE": (15 / 1.21 - 10) / 20}
    for name, value in expected.items():
        assert f.post_training[name] == pytest.approx(value), name
    assert set(f.post_training) == set(POST_TRAINING)
    assert set(f.pre_training) == set(PRE_TRAINING)


def test_flip_test_counts_neighbours_with_the_opposite_outcome() -> None:
    # one feature; each d row sits next to a rows that all got the favorable outcome
    features = np.array([[0.0], [0.1], [5.0], [0.05], [0.15], [5.1], [5.2], [0.12]])
    in_d = np.array([True, True, True, False, False, False, False, False])
    predicted = np.array([False, False, True, True, True, False, False, True])
    values, _ = post_training(in_d, predicted, predicted, features=features, neighbors=1)
    # rows 0 and 1: unfavorable, neighbour favorable -> F+ = 2; row 2: favorable, neighbour not -> F- = 1
    assert values["FT"] == pytest.approx((2 - 1) / 3)


def test_single_group_facet_is_undefined_with_a_reason() -> None:
    in_d = np.ones(5, dtype=bool)
    y = np.array([1, 0, 1, 0, 1], dtype=bool)
    pre, pre_why = pre_training(in_d, y.astype(str), y)
    post, post_why = post_training(in_d, y, y, features=np.zeros((5, 1)))
    assert pre["CI"] == -1.0
    for name in ("DPL", "KL", "JS"):
        assert pre[name] is None and "facet a is empty" in pre_why[name]
    for name in ("DPPL", "DI", "RD", "FT"):
        assert post[name] is None and "facet a is empty" in post_why[name]


def test_zero_denominators_give_none_not_nan() -> None:
    in_d = np.array([True, True, False, False])
    y = np.array([True, True, True, True])
    p = np.array([False, False, False, False])
    post, why = post_training(in_d, y, p)
    assert post["DI"] is None and "divides by 0" in why["DI"]
    assert post["SD"] is None and post["TE"] is None
    assert all(v is None or math.isfinite(v) for v in post.values())


def test_missing_group_variable_leaves_cddl_undefined(table: pd.DataFrame, score_predictor) -> None:
    report = evaluate(score_predictor, table, label="y", sensitive=["sex"], shap_sample=0, bootstrap=0)
    facet = report.bias[0]
    assert facet.pre_training["CDDL"] is None
    assert "group_variable" in facet.reasons["CDDL"]


def test_agrees_with_fairlearn(data: pd.DataFrame, xgb) -> None:
    report = evaluate(xgb, data, label="y", sensitive=["sex"], shap_sample=0, bootstrap=0)
    predicted = xgb.predict(data[["a", "b", "c"]])
    dpd = demographic_parity_difference(data["y"], predicted, sensitive_features=data["sex"])
    eod = equalized_odds_difference(data["y"], predicted, sensitive_features=data["sex"])
    for facet in report.bias:
        assert abs(facet.post_training["DPPL"]) == pytest.approx(dpd)
        assert max(abs(facet.post_training["RD"]), abs(facet.post_training["SD"])) == pytest.approx(eod)
