"""The flavor table: how each kind of model is detected, written, checked and read back.

Flavor modules are listed as lazy data (name -> module) and imported only when used, so saving a
scikit-learn model never imports ONNX Runtime. Each module provides ``FILE_FORMAT`` (what
:func:`loopml.models.safety.detect_format` must report for its model file), ``handles(model)``,
``save(model, folder) -> Saved``, ``load(data, info, *, trust) -> predictor`` and optionally
``inspect(data, info, *, trust)`` (checks run before anything is deserialised) and
``check_signature(model, names)`` and ``model_signature(model)`` (the signature a fitted model implies
when the caller gives none).
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from loopml.errors import ValidationError
from loopml.models.manifest import OutputSpec

#: Detection order matters: the first flavor whose ``handles`` is true wins; pyfunc takes anything left.
FLAVORS = {
    "onnx": "loopml.models._onnx",
    "xgboost": "loopml.models._xgboost",
    "lightgbm": "loopml.models._lightgbm",
    "sklearn": "loopml.models._sklearn",
    "pyfunc": "loopml.models._pyfunc",
    "script": "loopml.models._script",
}


@dataclass(frozen=True)
class Saved:
    """What a flavor wrote: its model file, the framework, the output and flavor options."""

    model_file: str
    framework: str
    framework_version: str
    output: OutputSpec
    options: dict[str, Any] = field(default_factory=dict)


def flavor_module(name: str) -> ModuleType:
    """The module implementing flavor ``name``.

    Raises:
        ValidationError: ``name`` is not a known flavor.
    """
    if name not in FLAVORS:
        raise ValidationError(f"flavor {name!r} is not supported; use one of {sorted(FLAVORS)}", flavor=name)
    return importlib.import_module(FLAVORS[name])


def detect_flavor(model: Any) -> str:
    """The flavor for ``model``: the first in :data:`FLAVORS` whose module handles it."""
    for name, module in FLAVORS.items():
        if name == "script":
            continue
        if _module_name_hint(model, name) and importlib.import_module(module).handles(model):
            return name
    raise ValidationError(
        f"cannot save a {type(model).__module__}.{type(model).__qualname__}: it is not a scikit-learn, "
        "XGBoost, LightGBM or ONNX model and has no predict(df) method; wrap it in a class with predict(df) "
        "and save with flavor='pyfunc'")


def _module_name_hint(model: Any, flavor: str) -> bool:
    """Cheap pre-check so detection imports a flavor's library only when the object could be its."""
    top = type(model).__module__.split(".")[0]
    hints = {"onnx": ("onnx",), "xgboost": ("xgboost",), "lightgbm": ("lightgbm",)}
    return flavor not in hints or top in hints[flavor]


def output_of(model: Any) -> OutputSpec:
    """Classification with ``classes_`` when the model has them; regression for sklearn regressors."""
    classes = getattr(model, "classes_", None)
    if classes is not None:
        return OutputSpec("classification", tuple(_plain(c) for c in classes))
    if getattr(model, "_estimator_type", None) == "regressor" or _sk_tag(model) == "regressor":
        return OutputSpec("regression")
    return OutputSpec("unknown")


def _sk_tag(model: Any) -> str | None:
    tags = getattr(model, "__sklearn_tags__", None)
    try:
        return getattr(tags(), "estimator_type", None) if callable(tags) else None
    except Exception:  # noqa: BLE001 - unfitted or foreign objects may not answer
        return None


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def feature_names(model: Any) -> list[str] | None:
    """The input column names a fitted model recorded, if any (LightGBM's ``Column_<i>`` defaults are none).

    Reads ``feature_names_in_`` (scikit-learn and the wrappers), ``feature_names`` (XGBoost Booster) and
    ``feature_name()`` (LightGBM Booster).
    """
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        names = getattr(model, "feature_names", None)
    if names is None and callable(getattr(model, "feature_name", None)):
        names = model.feature_name()
    if names is None or isinstance(names, str):
        return None
    out = [str(n) for n in names]
    return None if all(re.fullmatch(r"Column_\d+", n) for n in out) else out


def numeric_signature(names: list[str] | None, *, nullable: bool) -> Any:
    """A float64 signature over ``names`` (for models that only take numbers), or None without names."""
    from loopml.models.signature import ColumnSpec, Signature

    if not names or all(re.fullmatch(r"Column_\d+", n) for n in names):
        return None
    return Signature(tuple(ColumnSpec(n, "float64", nullable) for n in names))


def check_signature(model: Any, names: list[str]) -> list[str]:
    """Check signature column ``names`` against the model's ``n_features_in_``/``feature_names_in_``.

    Returns:
        The names in the order the model expects them.

    Raises:
        ValidationError: the count or the names differ.
    """
    known = feature_names(model)
    if known:
        if set(known) != set(names) or len(known) != len(names):
            raise ValidationError(
                f"the signature columns {names} do not match the columns the model was fitted on {known}; "
                "pass the training frame's feature columns as input_example (without the label)",
                expected=known, got=names)
        return known
    n = getattr(model, "n_features_in_", None)
    if n is not None and int(n) != len(names):
        raise ValidationError(f"the signature has {len(names)} columns but the model was fitted on {int(n)} "
                              "features; pass a signature with exactly the model's input columns",
                              expected=int(n), got=len(names))
    return names
