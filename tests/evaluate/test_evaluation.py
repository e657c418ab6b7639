"""evaluate(): metrics, champion vs challenger, slices, and clear errors on bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from loopml.errors import ValidationError
from loopml.evaluate import evaluate

FEATURES = ["a", "b", "c"]


def test_binary_metrics_match_scikit_learn(data: pd.DataFrame, xgb) -> None:
    report = evaluate(xgb, data, label="y", shap_sample=0, bootstrap=0)
    proba = xgb.predict_proba(data[FEATURES])[:, 1]
    pred = xgb.predict(data[FEATURES])
    assert report.task == "binary" and report.positive_label == "1"
    assert report.metrics["accuracy"] == pytest.approx(skm.accuracy_score(data.y, pred))
    assert report.metrics["f1"] == pytest.approx(skm.f1_score(data.y, pred))
    assert report.metrics["roc_auc"] == pytest.approx(skm.roc_auc_score(data.y, proba))
    assert report.metrics["pr_auc"] == pytest.approx(skm.average_precision_score(data.y, proba))
    assert report.metrics["log_loss"] == pytest.approx(skm.log_loss(data.y, proba), rel=1e-5)
    assert report.metrics["brier"] == pytest.approx(skm.brier_score_loss(data.y, proba))
    assert np.array(report.confusion_matrix["matrix"]).tolist() == skm.confusion_matrix(data.y, pred).tolist()
    assert {"roc", "pr", "calibration"} <= set(report.curves)
    assert sum(report.curves["calibration"]["count"]) == len(data)


def test_regression_metrics(data: pd.DataFrame) -> None:
    frame = data.assign(target=data.a * 2 + 1.0)
    model = LinearRegression().fit(frame[FEATURES], frame.target)
    report = evaluate(model, frame.drop(columns=["y"]), label="target", shap_sample=0, bootstrap=0)
    assert report.task == "regression"
    assert report.metrics["rmse"] == pytest.approx(0.0, abs=1e-9)
    assert report.metrics["r2"] == pytest.approx(1.0)
    assert report.confusion_matrix is None


def test_multiclass_metrics(data: pd.DataFrame) -> None:
    frame = data.assign(k=np.digitize(data.a, [-0.5, 0.5]))
    model = LogisticRegression(max_iter=500).fit(frame[FEATURES], frame.k)
    report = evaluate(model, frame.drop(columns=["y"]), label="k", shap_sample=0, bootstrap=20)
    proba = model.predict_proba(frame[FEATURES])
    assert report.task == "multiclass"
    assert report.metrics["roc_auc"] == pytest.approx(skm.roc_auc_score(frame.k, proba, multi_class="ovr"))
    assert report.metrics["log_loss"] == pytest.approx(skm.log_loss(frame.k, proba), rel=1e-5)
    assert report.metrics["pr_auc"] is None and "binary" in report.reasons["pr_auc"]


def test_champion_challenger_deltas_with_bootstrap_intervals(data: pd.DataFrame, xgb, weak) -> None:
    report = evaluate(xgb, data, label="y", incumbent=weak, shap_sample=0, bootstrap=100)
    deltas = {d.metric: d for d in report.comparison.deltas}
    auc = deltas["roc_auc"]
    assert auc.delta == pytest.approx(report.metrics["roc_auc"] - report.comparison.champion_metrics["roc_auc"])
    assert auc.improved is True
    assert auc.ci_low <= auc.delta <= auc.ci_high and auc.ci_low > 0
    assert deltas["log_loss"].improved is True and deltas["log_loss"].delta < 0


def test_bootstrap_is_reproducible_with_a_seed(data: pd.DataFrame, xgb, logreg) -> None:
    runs = [evaluate(xgb, data, label="y", incumbent=logreg, shap_sample=0, bootstrap=30, seed=7)
            for _ in range(2)]
    assert runs[0].comparison == runs[1].comparison


def test_incumbent_with_other_columns_is_rejected_naming_them(data: pd.DataFrame, xgb) -> None:
    other = LogisticRegression().fit(data[["a", "b", "region"]].assign(region=1), data.y)
    with pytest.raises(ValidationError, match=r"only the challenger takes \['c'\].*only the incumbent takes "
                                              r"\['region'\]"):
        evaluate(xgb, data, label="y", incumbent=other, shap_sample=0)


def test_missing_label_column(data: pd.DataFrame, xgb) -> None:
    with pytest.raises(ValidationError, match="label column 'target' is not in test_data"):
        evaluate(xgb, data, label="target")


def test_model_columns_missing_from_test_data(data: pd.DataFrame, xgb) -> None:
    with pytest.raises(ValidationError, match=r"expects column\(s\) \['c'\]"):
        evaluate(xgb, data.drop(columns=["c"]), label="y")


def test_unseen_label_values(data: pd.DataFrame, xgb) -> None:
    frame = data.astype({"y": object})
    frame.loc[0:2, "y"] = "maybe"
    with pytest.raises(ValidationError, match=r"value\(s\) \['maybe'\] the model never predicts"):
        evaluate(xgb, frame, label="y")


def test_nan_predictions_are_rejected(data: pd.DataFrame, score_predictor) -> None:
    frame = data.assign(score=0.5)
    frame.loc[3, "score"] = np.nan
    with pytest.raises(ValidationError, match=r"NaN or infinite values for 1 row\(s\) \(first row positions: \[3\]"):
        evaluate(score_predictor, frame, label="y")


def test_unknown_slice_column(data: pd.DataFrame, xgb) -> None:
    with pytest.raises(ValidationError, match=r"\['zip'\] named in slices"):
        evaluate(xgb, data, label="y", slices=["zip"])


def test_slices_flag_where_the_challenger_is_worse(data: pd.DataFrame, xgb) -> None:
    # a challenger that is perfect except in the south, where it always predicts 0
    frame = data.assign(score=np.where(data.region == "south", 0.0, data.y * 0.8 + 0.1))
    champion = frame.assign(score=data.y * 0.8 + 0.1)
    report = evaluate(_Fixed(frame.score), frame, label="y", incumbent=_Fixed(champion.score),
                      slices=["region", "a"], shap_sample=0, bootstrap=0)
    region = {s.value: s for s in report.slices if s.column == "region"}
    assert region["south"].flagged and not region["north"].flagged
    assert region["south"].drop == pytest.approx((data.y[data.region == "south"] == 1).mean())
    assert report.max_slice_drop == pytest.approx(region["south"].drop)
    assert len([s for s in report.slices if s.column == "a"]) == 5


class _Fixed:
    """A predictor returning a fixed probability per row label."""

    classes_ = np.array([0, 1])

    def __init__(self, score: pd.Series) -> None:
        self.score = score

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        p = self.score.loc[df.index].to_numpy(dtype=float)
        return np.column_stack([1 - p, p])


def test_degenerate_inputs_never_raise_or_emit_nan(data: pd.DataFrame) -> None:
    frame = data.head(40).assign(const=1, y=1, cat=pd.Categorical(["u"] * 40, categories=["u", "unused"]))
    frame.loc[frame.index[:3], "a"] = np.nan
    model = DecisionTreeClassifier().fit(data[FEATURES], data.y)
    report = evaluate(model, frame.assign(a=frame.a.fillna(0)).assign(a_raw=frame.a), label="y",
                      slices=["const", "cat", "a_raw"], sensitive=["const", "cat"], shap_sample=10, bootstrap=10)
    text = json.dumps(report.to_dict(), allow_nan=False)
    assert "NaN" not in text
    assert report.metrics["roc_auc"] is None and "one class" in report.reasons["roc_auc"]
    empty = next(s for s in report.slices if s.value == "unused")
    assert empty.n == 0 and empty.reason.startswith("empty slice")
    assert any(s.value == "<missing>" and s.n == 3 for s in report.slices)
    const = next(f for f in report.bias if f.column == "const")
    assert const.post_training["DPPL"] is None and "facet a is empty" in const.reasons["DPPL"]


def test_single_row_and_constant_prediction(data: pd.DataFrame, score_predictor) -> None:
    frame = data.head(1).assign(score=0.7)
    report = evaluate(score_predictor, frame, label="y", slices=["region"], sensitive=["sex"], bootstrap=5)
    json.dumps(report.to_dict(), allow_nan=False)
    assert report.n_rows == 1 and report.metrics["accuracy"] in (0.0, 1.0)


def test_empty_test_data_is_a_clear_error(data: pd.DataFrame, xgb) -> None:
    with pytest.raises(ValidationError, match="0 rows"):
        evaluate(xgb, data.head(0), label="y")


def test_missing_labels_are_a_clear_error(data: pd.DataFrame, xgb) -> None:
    frame = data.astype({"y": float})
    frame.loc[5, "y"] = np.nan
    with pytest.raises(ValidationError, match=r"1 missing value\(s\)"):
        evaluate(xgb, frame, label="y")


def test_a_model_that_cannot_predict_gives_a_clear_error(data: pd.DataFrame, logreg) -> None:
    frame = data.copy()
    frame.loc[0, "a"] = np.nan
    with pytest.raises(ValidationError, match=r"the model failed to predict on test_data: ValueError"):
        evaluate(logreg, frame, label="y")


def test_all_null_sensitive_column_is_one_facet_with_reasons(data: pd.DataFrame, xgb) -> None:
    report = evaluate(xgb, data.assign(sex=None), label="y", sensitive=["sex"], slices=["sex"],
                      shap_sample=0, bootstrap=0)
    assert [f.facet for f in report.bias] == ["<missing>"]
    assert report.bias[0].post_training["DI"] is None
    assert [s.value for s in report.slices] == ["<missing>"]


def test_multiclass_bias_needs_a_positive_label(data: pd.DataFrame) -> None:
    frame = data.assign(k=np.digitize(data.a, [-0.5, 0.5])).drop(columns=["y"])
    model = LogisticRegression(max_iter=500).fit(frame[FEATURES], frame.k)
    report = evaluate(model, frame, label="k", sensitive=["sex"], shap_sample=0, bootstrap=0)
    assert report.bias == [] and "positive_label" in report.warnings[0]
    report = evaluate(model, frame, label="k", sensitive=["sex"], positive_label=2, shap_sample=0, bootstrap=0)
    assert {f.facet for f in report.bias} == {"F", "M"}


def test_incumbent_without_declared_columns_gets_the_challengers(data: pd.DataFrame, xgb,
                                                                   score_predictor) -> None:
    frame = data.assign(score=0.5)
    report = evaluate(score_predictor, frame, label="y", incumbent=xgb, shap_sample=0, bootstrap=0)
    assert report.comparison.champion_metrics["roc_auc"] > 0.8
