"""The ``sklearn`` flavor: estimators, Pipelines and ColumnTransformers stored with skops.

skops records every type in the file; loading admits only the types scikit-learn's own estimators need
(:data:`TRUSTED_TYPES`, pinned for the skops version in use) and refuses anything else unless the caller
trusts the file (RELIABILITY.md §2.2).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from loopml.errors import UnsafeModelError
from loopml.models._flavors import Saved, feature_names, numeric_signature, output_of
from loopml.models.manifest import ModelInfo

FILE_FORMAT = "skops"
MODEL_FILE = "model.skops"

#: Types outside skops' default trusted set that scikit-learn estimators hold (pinned for skops 0.16);
#: :func:`trusted_types` adds loopml's own recipe transformers.
TRUSTED_TYPES = (
    "numpy.dtype",
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.metrics._dist_metrics.ManhattanDistance64",
    "sklearn.metrics._dist_metrics.MinkowskiDistance64",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
    "collections.OrderedDict",
    # XGBoost and LightGBM estimators inside a Pipeline: their boosters restore from the library's own model
    # bytes (no code), and anything else they hold is audited by skops type by type.
    "xgboost.core.Booster", "xgboost.sklearn.XGBClassifier", "xgboost.sklearn.XGBRegressor",
    "xgboost.sklearn.XGBRanker", "xgboost.sklearn.XGBRFClassifier", "xgboost.sklearn.XGBRFRegressor",
    "lightgbm.basic.Booster", "lightgbm.sklearn.LGBMClassifier", "lightgbm.sklearn.LGBMRegressor",
    "lightgbm.sklearn.LGBMRanker",
)


def trusted_types() -> tuple[str, ...]:
    """:data:`TRUSTED_TYPES` plus loopml's own recipe transformers (``loopml.data.transformers``)."""
    from loopml.data.transformers import TRUSTED_TYPES as RECIPE_TYPES

    return (*TRUSTED_TYPES, *RECIPE_TYPES)


def handles(model: Any) -> bool:
    """True for scikit-learn estimators (including Pipelines and ColumnTransformers)."""
    from sklearn.base import BaseEstimator

    return isinstance(model, BaseEstimator)


def save(model: Any, folder: Path) -> Saved:
    """Write ``model`` with ``skops.io.dump``, refusing types loading would refuse (never first at deploy)."""
    import sklearn
    import skops.io

    from loopml.core.canonical import canonical_skops

    (folder / MODEL_FILE).write_bytes(canonical_skops(skops.io.dumps(model)))
    extra = untrusted_types((folder / MODEL_FILE).read_bytes())
    if extra:
        raise UnsafeModelError(
            f"the model holds types outside loopml's trusted list: {extra[:10]}; loading them could run code, so "
            "endpoints would refuse this model. Build it from scikit-learn, XGBoost, LightGBM and loopml recipe "
            "steps, or save your own classes with flavor='pyfunc' and register it with trust_code=True",
            types=extra)
    return Saved(MODEL_FILE, "scikit-learn", sklearn.__version__, output_of(model),
                 {"skops_version": _skops_version()})


_MIXED_INPUT = ("sklearn.pipeline", "sklearn.compose", "sklearn.model_selection", "sklearn.preprocessing._encoders",
                "sklearn.feature_extraction", "sklearn.impute")


def model_signature(model: Any) -> Any:
    """float64 columns named by ``feature_names_in_`` for estimators that take only numbers, else None.

    Pipelines, ColumnTransformers, encoders and searches may take strings, so they get no inferred
    signature: pass ``input_example=`` for those.
    """
    if type(model).__module__.startswith(_MIXED_INPUT) or hasattr(model, "steps"):
        return None
    try:
        tags = model.__sklearn_tags__().input_tags
    except Exception:  # noqa: BLE001 - third-party estimators may not implement tags
        return None
    if tags.string or tags.categorical:
        return None
    return numeric_signature(feature_names(model), nullable=bool(tags.allow_nan))


def untrusted_types(data: bytes) -> list[str]:
    """Types in a skops file outside :data:`TRUSTED_TYPES` (nothing is loaded to find them)."""
    import skops.io

    trusted = trusted_types()
    return [t for t in skops.io.get_untrusted_types(data=data) if t not in trusted]


def inspect(data: bytes, info: ModelInfo, *, trust: bool) -> None:
    """Refuse types outside :data:`TRUSTED_TYPES` unless ``trust`` (skops reads only the schema here)."""
    extra = untrusted_types(data)
    if extra and not trust:
        raise UnsafeModelError(
            f"{info.path / info.model_file} holds types outside loopml's trusted list: {extra[:10]}. Loading "
            "them could run code. Pass trust=True only if you built this file yourself",
            types=extra)


def load(data: bytes, info: ModelInfo, *, trust: bool) -> Any:
    """Load verified, inspected skops bytes, trusting exactly the types the file holds."""
    import skops.io

    found = skops.io.get_untrusted_types(data=data)
    return skops.io.load(io.BytesIO(data), trusted=found)


def _skops_version() -> str:
    from importlib.metadata import version

    return version("skops")
