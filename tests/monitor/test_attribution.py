from __future__ import annotations

import math

import pytest

from loopml.errors import ValidationError
from loopml.monitor import check_attribution_drift, ndcg

BASE = {"income": 0.5, "age": 0.3, "tenure": 0.1, "zip": 0.02}


def test_same_ranking_scores_one_even_when_magnitudes_change():
    report = check_attribution_drift(BASE, {k: v * 3 for k, v in BASE.items()})
    assert report.status == "ok" and report.ndcg == pytest.approx(1.0) and report.violations == ()


def test_ndcg_matches_the_clarify_formula():
    window = {"income": 0.1, "age": 0.2, "tenure": 0.6, "zip": 0.0}
    order = ["tenure", "age", "income", "zip"]
    dcg = sum(BASE[f] / math.log2(i + 2) for i, f in enumerate(order))
    idcg = sum(v / math.log2(i + 2) for i, v in enumerate(sorted(BASE.values(), reverse=True)))
    assert ndcg(BASE, window) == pytest.approx(dcg / idcg)


def test_reordered_top_features_raise_a_clarify_violation():
    report = check_attribution_drift(
        BASE, {"income": 0.01, "age": 0.02, "tenure": 0.5, "zip": 0.4}, label="churn"
    )
    assert report.status == "violations" and report.ndcg < 0.9
    body = report.to_dict()
    assert body["version"] == "1.0"
    assert body["violations"][0] == {
        "label": "churn",
        "metric_name": "shap",
        "constraint_check_type": "feature_attribution_drift_check",
        "description": body["violations"][0]["description"],
    }


def test_features_missing_from_the_window_rank_last_and_are_listed():
    report = check_attribution_drift(BASE, {"age": 0.3, "tenure": 0.1, "zip": 0.02})
    assert report.missing_features == ("income",) and report.ndcg < 1.0


def test_negative_attributions_compare_by_magnitude():
    assert check_attribution_drift(BASE, {k: -v for k, v in BASE.items()}).ndcg == pytest.approx(1.0)


@pytest.mark.parametrize("window", [{}, {"a": 0.0}])
def test_empty_or_zero_inputs_are_insufficient_data(window):
    assert check_attribution_drift({"a": 0.0}, window).status == "insufficient_data"
    assert check_attribution_drift(BASE, {}).status == "insufficient_data"


@pytest.mark.parametrize(("window", "threshold"), [({"a": float("nan")}, 0.9), ({"a": 1.0}, 1.5)])
def test_invalid_values_are_rejected(window, threshold):
    with pytest.raises(ValidationError):
        check_attribution_drift({"a": 1.0}, window, threshold=threshold)
