"""Checking the inputs of an evaluation and running the predictors once.

Everything that can be wrong with a test frame or a predictor is found here and reported as a
:class:`~loopml.errors.ValidationError` naming the column, value or count, so the metric code after
it can assume clean arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from loopml.errors import ValidationError

Task = Literal["binary", "multiclass", "regression"]
TASKS: tuple[str, ...] = ("binary", "multiclass", "regression")


@dataclass(frozen=True)
class Predictions:
    """One predictor's outputs on the test rows.

    Attributes:
        y_pred: predicted labels (classification) or values (regression), shape ``(n,)``.
        proba: class probabilities ``(n, k)`` in the order of ``classes``, or None.
    """

    y_pred: np.ndarray
    proba: np.ndarray | None


@dataclass(frozen=True)
class Prepared:
    """Validated inputs shared by every part of an evaluation."""

    task: Task
    y_true: np.ndarray
    classes: tuple[Any, ...]
    positive_label: Any
    features: tuple[str, ...]


def feature_columns(model: Any) -> tuple[str, ...] | None:
    """The input columns a predictor declares, or None when it declares none.

    Looks at ``feature_names_in_`` (scikit-learn, XGBoost), ``feature_name_`` (LightGBM) and a
    ``signature`` attribute with ``inputs`` (loopml models).
    """
    for attr in ("feature_names_in_", "feature_name_"):
        names = getattr(model, attr, None)
        if names is not None:
            return tuple(str(n) for n in names)
    signature = getattr(model, "signature", None)
    inputs = getattr(signature, "inputs", None)
    if inputs:
        return tuple(str(getattr(i, "name", i)) for i in inputs)
    return None


def check_frame(test_data: Any, label: str) -> pd.DataFrame:
    """Check that ``test_data`` is a non-empty frame holding ``label`` with no missing labels."""
    if not isinstance(test_data, pd.DataFrame):
        raise ValidationError(
            f"test_data must be a pandas DataFrame, got {type(test_data).__name__}; "
            "load it with pandas (pd.read_parquet / pd.read_csv) first."
        )
    if label not in test_data.columns:
        raise ValidationError(
            f"label column {label!r} is not in test_data; columns are {list(map(str, test_data.columns))}. "
            "Pass label= the name of the column holding the true outcome.",
            label=label,
        )
    if len(test_data) == 0:
        raise ValidationError("test_data has 0 rows; an evaluation needs at least 1 labelled row.")
    missing = int(test_data[label].isna().sum())
    if missing:
        raise ValidationError(
            f"label column {label!r} has {missing} missing value(s); drop or fill those rows first.",
            label=label,
        )
    return test_data


def resolve_features(model: Any, test_data: pd.DataFrame, label: str, *, role: str) -> tuple[str, ...]:
    """The columns handed to ``model.predict``; every declared column must be present."""
    declared = feature_columns(model)
    if declared is None:
        return tuple(str(c) for c in test_data.columns if c != label)
    absent = [c for c in declared if c not in test_data.columns]
    if absent:
        raise ValidationError(
            f"the {role} expects column(s) {absent} that test_data does not have; "
            f"test_data has {list(map(str, test_data.columns))}. Evaluate on data with the model's signature.",
            missing=absent,
        )
    return declared


def check_same_signature(challenger: tuple[str, ...], incumbent: tuple[str, ...]) -> None:
    """Raise when champion and challenger do not take the same input columns."""
    if set(challenger) == set(incumbent):
        return
    only_new = sorted(set(challenger) - set(incumbent))
    only_old = sorted(set(incumbent) - set(challenger))
    raise ValidationError(
        "the incumbent and the challenger have different input columns: "
        f"only the challenger takes {only_new}, only the incumbent takes {only_old}. "
        "Champion/challenger needs identical rows and signatures; retrain on the same features "
        "or evaluate without incumbent=.",
        challenger_only=only_new,
        incumbent_only=only_old,
    )


def infer_task(model: Any, y_true: pd.Series, task: str | None) -> Task:
    """The task named by the caller, else classification when the model has ``predict_proba``."""
    if task is not None:
        if task not in TASKS:
            raise ValidationError(f"task={task!r} is not one of {list(TASKS)}; pass one of those or None.")
        return task  # type: ignore[return-value]
    if not hasattr(model, "predict_proba"):
        return "regression"
    return "binary" if y_true.nunique() <= 2 and len(model_classes(model, y_true)) <= 2 else "multiclass"


def model_classes(model: Any, y_true: pd.Series) -> tuple[Any, ...]:
    """The classes in ``predict_proba`` column order: ``classes_`` or the sorted true labels."""
    classes = getattr(model, "classes_", None)
    if classes is None:
        classes = np.unique(y_true.to_numpy())
    return tuple(c.item() if hasattr(c, "item") else c for c in classes)


def prepare(model: Any, test_data: pd.DataFrame, label: str, *, task: str | None,
            positive_label: Any) -> Prepared:
    """Validate the frame and the model together and fix the task, classes and positive label."""
    frame = check_frame(test_data, label)
    features = resolve_features(model, frame, label, role="model")
    y_series = frame[label]
    kind = infer_task(model, y_series, task)
    if kind == "regression":
        y = pd.to_numeric(y_series, errors="coerce").to_numpy(dtype=float)
        if not np.isfinite(y).all():
            raise ValidationError(f"label column {label!r} must be numeric and finite for regression.")
        return Prepared("regression", y, (), None, features)
    classes = model_classes(model, y_series)
    _check_unseen_labels(y_series, classes, label)
    positive = _positive_label(classes, positive_label, kind)
    return Prepared(kind, y_series.to_numpy(), classes, positive, features)


def _check_unseen_labels(y: pd.Series, classes: tuple[Any, ...], label: str) -> None:
    unseen = sorted({str(v) for v in pd.unique(y) if v not in set(classes)})
    if unseen:
        raise ValidationError(
            f"label column {label!r} has value(s) {unseen[:10]} the model never predicts; "
            f"its classes are {list(classes)}. Drop those rows or retrain with them.",
            unseen=unseen,
        )


def _positive_label(classes: tuple[Any, ...], positive_label: Any, kind: Task) -> Any:
    if positive_label is not None:
        if positive_label not in classes:
            raise ValidationError(
                f"positive_label={positive_label!r} is not a class of the model; classes are {list(classes)}."
            )
        return positive_label
    if kind == "binary" and classes:
        return classes[-1]
    return None


def predict(model: Any, frame: pd.DataFrame, prepared: Prepared, *, role: str) -> Predictions:
    """Run ``model`` on ``frame`` once; reject NaN outputs and mis-shaped probabilities."""
    x = frame.loc[:, list(prepared.features)]
    try:
        return _predict(model, x, prepared, role=role)
    except ValidationError:
        raise
    except Exception as exc:  # noqa: BLE001 - any model failure becomes one clear error
        raise ValidationError(
            f"the {role} failed to predict on test_data: {type(exc).__name__}: {str(exc)[:300]}. "
            "Check that test_data has the columns and types the model was trained on.",
        ) from exc


def _predict(model: Any, x: pd.DataFrame, prepared: Prepared, *, role: str) -> Predictions:
    if prepared.task == "regression":
        y_pred = np.asarray(model.predict(x), dtype=float).reshape(-1)
        _check_finite(y_pred, role, "predict")
        return Predictions(y_pred, None)
    proba = np.asarray(model.predict_proba(x), dtype=float) if hasattr(model, "predict_proba") else None
    if proba is not None:
        proba = proba.reshape(len(x), -1)
        _check_finite(proba, role, "predict_proba")
        if proba.shape[1] != len(prepared.classes):
            raise ValidationError(
                f"the {role}'s predict_proba returned {proba.shape[1]} column(s) for "
                f"{len(prepared.classes)} classes {list(prepared.classes)}; the model and labels disagree."
            )
        y_pred = np.asarray(prepared.classes, dtype=object)[proba.argmax(axis=1)]
    else:
        y_pred = np.asarray(model.predict(x), dtype=object).reshape(-1)
    return Predictions(y_pred, proba)


def _check_finite(values: np.ndarray, role: str, method: str) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        rows = np.unique(np.nonzero(bad)[0])
        raise ValidationError(
            f"the {role}'s {method} returned NaN or infinite values for {len(rows)} row(s) "
            f"(first row positions: {rows[:5].tolist()}); fix the model or impute its inputs.",
            rows=rows[:20].tolist(),
        )
