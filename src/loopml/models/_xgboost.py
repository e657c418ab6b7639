"""The ``xgboost`` flavor: native UBJSON (``model.ubj``) for Boosters and the scikit-learn wrappers.

The wrapper class is kept in the manifest (from a fixed table, never imported by name from the file), so
an ``XGBClassifier`` comes back as one and ``predict_proba`` works after loading.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from loopml.errors import ValidationError
from loopml.models._flavors import Saved, numeric_signature, output_of
from loopml.models.manifest import ModelInfo, OutputSpec

FILE_FORMAT = "xgboost-ubj"
MODEL_FILE = "model.ubj"
WRAPPERS = ("XGBClassifier", "XGBRegressor", "XGBRanker", "XGBRFClassifier", "XGBRFRegressor", "Booster")


def handles(model: Any) -> bool:
    """True for ``xgboost.Booster`` and the XGBoost scikit-learn wrappers."""
    import xgboost

    return isinstance(model, (xgboost.Booster, xgboost.XGBModel))


def save(model: Any, folder: Path) -> Saved:
    """Write ``model`` with XGBoost's own ``save_model`` to UBJSON."""
    import xgboost

    wrapper = type(model).__name__
    if wrapper not in WRAPPERS:
        raise ValidationError(f"XGBoost class {wrapper!r} is not supported; use one of {list(WRAPPERS)}")
    model.save_model(str(folder / MODEL_FILE))
    output = output_of(model) if wrapper != "Booster" else OutputSpec("unknown")
    if wrapper.endswith("Regressor"):
        output = OutputSpec("regression")
    return Saved(MODEL_FILE, "xgboost", xgboost.__version__, output, {"wrapper": wrapper})


def model_signature(model: Any) -> Any:
    """float64 (NaN allowed) columns named by the Booster's feature names, unless some are categorical."""
    booster = model.get_booster() if hasattr(model, "get_booster") else model
    types = booster.feature_types or []
    if any(t == "c" for t in types):
        return None
    return numeric_signature(booster.feature_names, nullable=True)


def load(data: bytes, info: ModelInfo, *, trust: bool) -> Any:
    """Rebuild the recorded wrapper class from verified UBJSON bytes."""
    import xgboost

    wrapper = str(info.options.get("wrapper", "Booster"))
    if wrapper not in WRAPPERS:
        raise ValidationError(f"manifest names XGBoost class {wrapper!r}; allowed: {list(WRAPPERS)}")
    model = getattr(xgboost, wrapper)()
    model.load_model(bytearray(data))
    return _BoosterPredictor(model) if wrapper == "Booster" else model


class _BoosterPredictor:
    """A bare Booster behind ``predict(df)``."""

    def __init__(self, booster: Any) -> None:
        self.booster = booster

    def predict(self, frame: pd.DataFrame) -> Any:
        import xgboost

        return self.booster.predict(xgboost.DMatrix(frame, enable_categorical=True))
