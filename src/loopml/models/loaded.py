"""A model read back from its folder: predictions checked against the saved signature."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from loopml.errors import ValidationError
from loopml.models.manifest import ModelInfo
from loopml.models.signature import Signature


class LoadedModel:
    """A loaded model: ``predict(df)``, its signature, flavor and digest.

    Every prediction first checks the frame against the signature (when the model has one), puts the
    columns in the saved order and converts them to the saved dtypes.

    Attributes:
        info: the verified manifest.
        model: the underlying framework object (an estimator, booster or ONNX Runtime wrapper).
    """

    def __init__(self, info: ModelInfo, model: Any) -> None:
        self.info = info
        self.model = model

    @property
    def path(self) -> Path:
        """The folder the model was loaded from."""
        return self.info.path

    @property
    def flavor(self) -> str:
        """``sklearn``, ``xgboost``, ``lightgbm``, ``onnx`` or ``pyfunc``."""
        return self.info.flavor

    @property
    def digest(self) -> str:
        """The folder digest (``sha256:<hex>``) verified at load."""
        return self.info.digest

    @property
    def signature(self) -> Signature | None:
        """The input signature, or None when the model was saved without one."""
        return self.info.signature

    @property
    def metadata(self) -> dict[str, Any]:
        """The metadata given at save time."""
        return self.info.metadata

    @property
    def classes_(self) -> np.ndarray | None:
        """The class labels in ``predict_proba`` column order, or None for regressors."""
        if self.info.output.classes is not None:
            return np.asarray(self.info.output.classes)
        classes = getattr(self.model, "classes_", None)
        return None if classes is None else np.asarray(classes)

    def validate(self, frame: Any) -> pd.DataFrame:
        """Check ``frame`` against the signature; return it ordered and typed as the model expects.

        Raises:
            ValidationError: a column is missing, extra, of the wrong type or has a disallowed NaN.
        """
        if self.signature is None:
            if not isinstance(frame, pd.DataFrame):
                raise ValidationError(f"the model takes a pandas DataFrame, got {type(frame).__name__}")
            return frame
        return self.signature.validate(frame)

    def predict(self, frame: Any) -> np.ndarray:
        """Predictions for ``frame`` (validated first)."""
        return np.asarray(self.model.predict(self.validate(frame)))

    def __repr__(self) -> str:
        return f"<LoadedModel flavor={self.flavor} digest={self.digest[:19]}… path={str(self.path)!r}>"


class LoadedClassifier(LoadedModel):
    """A loaded classifier: adds ``predict_proba(df)``."""

    def predict_proba(self, frame: Any) -> np.ndarray:
        """Class probabilities for ``frame`` (validated first), one column per label in ``classes_``."""
        return np.asarray(self.model.predict_proba(self.validate(frame)))


def wrap(info: ModelInfo, model: Any) -> LoadedModel:
    """A LoadedClassifier when the model can give probabilities, else a LoadedModel."""
    if info.output.type != "regression" and hasattr(model, "predict_proba"):
        return LoadedClassifier(info, model)
    return LoadedModel(info, model)
