"""The ``lightgbm`` flavor: LightGBM's native text model (``model.txt``).

The text format holds the Booster only; for ``LGBMClassifier`` the class labels are kept in the manifest
and ``predict``/``predict_proba`` are rebuilt on top of the Booster.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from loopml.errors import ValidationError
from loopml.models._flavors import Saved, numeric_signature, output_of
from loopml.models.manifest import ModelInfo, OutputSpec

FILE_FORMAT = "lightgbm-txt"
MODEL_FILE = "model.txt"


def handles(model: Any) -> bool:
    """True for ``lightgbm.Booster`` and fitted LightGBM scikit-learn wrappers."""
    import lightgbm

    return isinstance(model, (lightgbm.Booster, lightgbm.LGBMModel))


def save(model: Any, folder: Path) -> Saved:
    """Write the Booster as LightGBM text."""
    import lightgbm

    booster = model if isinstance(model, lightgbm.Booster) else getattr(model, "booster_", None)
    if booster is None:
        raise ValidationError(f"the {type(model).__name__} is not fitted; call fit() before saving")
    booster.save_model(str(folder / MODEL_FILE))
    output = output_of(model)
    if isinstance(model, lightgbm.LGBMRegressor):
        output = OutputSpec("regression")
    return Saved(MODEL_FILE, "lightgbm", lightgbm.__version__, output, {"wrapper": type(model).__name__})


def model_signature(model: Any) -> Any:
    """float64 (NaN allowed) columns named by the Booster, unless it was fitted with pandas categoricals."""
    booster = getattr(model, "booster_", model)
    if getattr(booster, "pandas_categorical", None):
        return None
    return numeric_signature(booster.feature_name(), nullable=True)


def load(data: bytes, info: ModelInfo, *, trust: bool) -> Any:
    """Rebuild a Booster from verified text bytes."""
    import lightgbm

    booster = lightgbm.Booster(model_str=data.decode("utf-8"))
    return _LightGBMPredictor(booster, info.output)


class _LightGBMPredictor:
    """``predict``/``predict_proba`` over a LightGBM Booster, with the saved class labels."""

    def __init__(self, booster: Any, output: OutputSpec) -> None:
        self.booster = booster
        self.classes_ = np.asarray(output.classes) if output.classes is not None else None

    def predict(self, frame: pd.DataFrame) -> Any:
        if self.classes_ is None:
            return self.booster.predict(frame)
        return self.classes_[np.argmax(self.predict_proba(frame), axis=1)]

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        if self.classes_ is None:
            raise ValidationError("this LightGBM model is not a classifier; predict_proba is not available")
        raw = np.asarray(self.booster.predict(frame))
        return raw if raw.ndim == 2 else np.column_stack([1.0 - raw, raw])
