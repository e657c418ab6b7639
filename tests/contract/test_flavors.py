"""Run the flavor contract over every flavor in the table that saves a fitted model: scikit-learn, XGBoost,
LightGBM, ONNX and pyfunc. (``script`` saves a SageMaker model folder, not a model object:
tests/registry/test_script_mode.py covers it.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loopml.models import FLAVORS
from loopml.testing.flavor_contract import CONTRACT, FlavorCase, Scaled

_ROWS = 120


def _data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"age": rng.integers(18, 80, _ROWS).astype("float64"), "income": rng.normal(50, 10, _ROWS)})
    return frame, ((frame["age"] > 40) ^ (frame["income"] > 50)).astype(int).to_numpy()


def _case(flavor: str) -> FlavorCase:
    frame, label = _data()
    if flavor == "sklearn":
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression().fit(frame, label)
        return FlavorCase(flavor, model, frame, model.predict)
    if flavor == "xgboost":
        import xgboost

        model = xgboost.XGBClassifier(n_estimators=5, max_depth=2).fit(frame, label)
        return FlavorCase(flavor, model, frame, model.predict)
    if flavor == "lightgbm":
        import lightgbm

        model = lightgbm.LGBMClassifier(n_estimators=5, verbose=-1).fit(frame, label)
        return FlavorCase(flavor, model, frame, model.predict)
    if flavor == "onnx":
        skl2onnx = pytest.importorskip("skl2onnx")
        from sklearn.linear_model import LogisticRegression

        clf = LogisticRegression().fit(frame, label)
        onx = skl2onnx.to_onnx(clf, frame.to_numpy(np.float32)[:1], options={id(clf): {"zipmap": False}})
        return FlavorCase(flavor, onx, frame, lambda f: clf.predict(f.to_numpy(np.float32)))
    model = Scaled(3.0)
    return FlavorCase("pyfunc", model, frame, model.predict, trust=True)


SAVED = ["onnx", "xgboost", "lightgbm", "sklearn", "pyfunc"]


@pytest.mark.parametrize("check", CONTRACT, ids=lambda c: c.__name__)
@pytest.mark.parametrize("flavor", SAVED)
def test_flavor_contract(flavor: str, check, tmp_path: Path) -> None:  # noqa: ANN001
    check(_case(flavor), tmp_path)


def test_every_flavor_in_the_table_is_covered() -> None:
    assert set(FLAVORS) == {*SAVED, "script"}, "add a case for the new flavor to _case"
