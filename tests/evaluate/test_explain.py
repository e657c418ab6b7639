"""SHAP explanations: the right explainer per model, importance and baseline attributions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lightgbm import LGBMClassifier
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from loopml.evaluate import evaluate
from loopml.evaluate.explain import explain, explainer_kind

FEATURES = ["a", "b", "c"]


def test_tree_explainer_for_xgboost_ranks_the_signal_first(data: pd.DataFrame, xgb) -> None:
    report = evaluate(xgb, data, label="y", shap_sample=300, bootstrap=0)
    e = report.explanation
    assert e.status == "ok" and e.explainer == "tree" and e.output == "log-odds"
    assert set(list(e.global_importance)[:2]) == {"a", "b"}
    assert len(e.rows) == 300 and len(e.attributions) == 300 and len(e.attributions[0]) == 3
    # additivity: base value + attributions = the model margin
    margin = xgb.predict(data.loc[[int(i) for i in e.rows[:5]], FEATURES], output_margin=True)
    assert np.allclose(np.sum(e.attributions[:5], axis=1) + e.base_value, margin, atol=1e-3)


def test_mean_absolute_shap_is_the_global_importance(data: pd.DataFrame, logreg) -> None:
    e = evaluate(logreg, data, label="y", shap_sample=200, bootstrap=0).explanation
    assert e.explainer == "linear"
    values = np.abs(np.array(e.attributions)).mean(axis=0)
    assert e.global_importance == pytest.approx(dict(zip(e.features, values, strict=True)), abs=1e-6)


@pytest.mark.parametrize(("model", "kind"), [
    (LGBMClassifier(n_estimators=10, verbose=-1), "tree"),
    (RandomForestRegressor(n_estimators=5), "tree"),
    (make_pipeline(StandardScaler(), LogisticRegression()), "permutation"),
])
def test_explainer_choice(data: pd.DataFrame, model, kind: str) -> None:
    model.fit(data[FEATURES], data.y)
    assert explainer_kind(model) == kind
    e = explain(model, data[FEATURES], sample=20, class_index=1 if hasattr(model, "predict_proba") else None)
    assert e.status == "ok" and len(e.attributions) == 20


def test_shap_sample_zero_skips(data: pd.DataFrame, xgb) -> None:
    e = evaluate(xgb, data, label="y", shap_sample=0, bootstrap=0).explanation
    assert e.status == "skipped" and e.attributions == []


def test_a_failing_explainer_does_not_fail_the_evaluation(data: pd.DataFrame, score_predictor) -> None:
    frame = data.assign(score=0.5, tags=[["x"]] * len(data))  # lists cannot be coded for the masker
    report = evaluate(score_predictor, frame, label="y", shap_sample=10, bootstrap=0)
    assert report.explanation.status == "failed" and report.explanation.reason
    assert report.metrics["accuracy"] is not None


def test_a_loaded_tree_model_gets_the_tree_explainer(tmp_path) -> None:
    """A model loaded from the model format is unwrapped, so XGBoost is explained by TreeExplainer."""
    import numpy as np
    import pandas as pd
    from xgboost import XGBClassifier

    from loopml import models
    from loopml.evaluate.explain import explain, explainer_kind

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    target = (frame["a"] > 0).astype(int)
    models.save(XGBClassifier(n_estimators=10).fit(frame, target), tmp_path / "m")
    loaded = models.load(tmp_path / "m")
    assert explainer_kind(loaded) == "tree"
    result = explain(loaded, frame, sample=50, class_index=1)
    assert result.status == "ok" and result.explainer == "tree"


def test_models_on_raw_columns_are_explained_in_those_columns(tmp_path) -> None:  # noqa: ANN001
    from sklearn.pipeline import Pipeline
    from xgboost import XGBClassifier

    from loopml import models
    from loopml.data import Recipe

    rng = np.random.default_rng(3)
    raw = pd.DataFrame({"age": rng.integers(18, 80, 300).astype(float), "city": rng.choice(["oslo", "rome", "lima"], 300),
                        "member": rng.random(300) > 0.5, "noise": rng.normal(size=300)})
    raw.loc[::10, "age"] = np.nan
    raw.loc[::13, "city"] = None
    y = ((raw["age"].fillna(50) > 45) ^ (raw["city"] == "rome")).astype(int)
    recipe = Recipe([{"op": "impute", "columns": ["age"], "strategy": "median"},
                     {"op": "impute", "columns": ["city"], "strategy": "constant", "fill_value": "none"},
                     {"op": "onehot", "columns": ["city"]}, {"op": "cast", "types": {"member": "float"}}]).fit(raw)
    pipe = Pipeline([("recipe", recipe.pipeline), ("xgb", XGBClassifier(n_estimators=20, max_depth=3))]).fit(raw, y)
    models.save(pipe, tmp_path / "m", input_example=raw)
    loaded = models.load(tmp_path / "m")
    report = evaluate(loaded, raw.assign(y=y), label="y", shap_sample=40, bootstrap=0)
    e = report.explanation
    assert e.status == "ok", e.reason
    assert e.features == ["age", "city", "member", "noise"] and set(list(e.global_importance)[:2]) == {"age", "city"}
    rows = raw.loc[[int(i) for i in e.rows[:5]]]
    assert np.allclose(np.sum(e.attributions[:5], axis=1) + e.base_value, pipe.predict_proba(rows)[:, 1], atol=0.05)
