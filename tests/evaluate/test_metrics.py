"""Metric helpers and the paired bootstrap."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from loopml.evaluate._bootstrap import binary_scorer, paired_intervals, regression_scorer
from loopml.evaluate.metrics import calibration, classification_metrics, finite, regression_metrics


def test_weighted_auc_with_unit_weights_equals_scikit_learn() -> None:
    rng = np.random.default_rng(1)
    y = rng.random(500) < 0.4
    score = np.round(rng.random(500), 2)  # ties on purpose
    scorer = binary_scorer(y, score, score > 0.5)
    assert scorer(np.ones(500))["roc_auc"] == pytest.approx(skm.roc_auc_score(y, score))


def test_weights_equal_a_resample() -> None:
    rng = np.random.default_rng(2)
    y, pred = rng.normal(size=300), rng.normal(size=300)
    idx = rng.integers(0, 300, 300)
    w = np.bincount(idx, minlength=300).astype(float)
    got = regression_scorer(y, pred)(w)
    assert got["rmse"] == pytest.approx(np.sqrt(np.mean((pred[idx] - y[idx]) ** 2)))
    assert got["r2"] == pytest.approx(skm.r2_score(y[idx], pred[idx]))


def test_identical_models_have_a_zero_interval() -> None:
    y = np.array([True, False] * 50)
    score = np.linspace(0, 1, 100)
    scorer = binary_scorer(y, score, score > 0.5)
    intervals = paired_intervals(scorer, scorer, 100, replicates=20, seed=0)
    assert intervals["roc_auc"] == (0.0, 0.0)


def test_undefined_classification_metrics_have_reasons() -> None:
    y = np.array([0, 0, 0])
    values, reasons = classification_metrics(y, y, np.array([[0.9, 0.1]] * 3), classes=(0, 1), positive_label=1)
    assert values["accuracy"] == 1.0
    assert values["precision"] is None and "predicted as the positive label" in reasons["precision"]
    assert values["roc_auc"] is None and "one class" in reasons["roc_auc"]


def test_regression_undefined_values() -> None:
    values, reasons = regression_metrics(np.zeros(4), np.ones(4))
    assert values["r2"] is None and "constant" in reasons["r2"]
    assert values["mape"] is None and "every true value is 0" in reasons["mape"]


def test_calibration_bins_cover_every_row() -> None:
    score = np.array([0.0, 0.05, 0.5, 0.95, 1.0])
    curve = calibration(score > 0.4, score, bins=10)
    assert sum(curve["count"]) == 5 and curve["fraction_positive"][-1] == 1.0


@pytest.mark.parametrize(("raw", "expected"), [(float("nan"), None), (float("inf"), None), ("x", None), (2, 2.0)])
def test_finite(raw, expected) -> None:
    assert finite(raw) == expected
