"""``evaluate``: score a predictor on a test frame and build an :class:`EvaluationReport`."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from loopml.errors import ValidationError
from loopml.evaluate import _bootstrap, bias, metrics
from loopml.evaluate._inputs import (
    Predictions,
    Prepared,
    check_same_signature,
    feature_columns,
    predict,
    prepare,
    resolve_features,
)
from loopml.evaluate.explain import explain
from loopml.evaluate.report import Comparison, EvaluationReport, FacetBias, MetricDelta
from loopml.evaluate.slices import max_drop, score_slices, slice_masks


def evaluate(model: Any, test_data: pd.DataFrame, *, label: str, incumbent: Any = None,
             slices: Iterable[str] = (), sensitive: Iterable[str] = (), positive_label: Any = None,
             shap_sample: int = 1000, bootstrap: int = 200, seed: int = 0, slice_threshold: float = 0.02,
             task: str | None = None, slice_metric: str | None = None,
             group_variable: str | None = None) -> EvaluationReport:
    """Evaluate ``model`` (the challenger) on ``test_data``, optionally against ``incumbent``.

    Args:
        model: any object with ``predict(df)``; classifiers also need ``predict_proba(df)``.
        test_data: the labelled test rows.
        label: the label column.
        incumbent: the current champion, scored on the identical rows; None for no comparison.
        slices: columns to slice by (per value, or quantile bins for numeric columns).
        sensitive: columns whose values are facets for the Clarify bias metrics.
        positive_label: the favorable class (binary default: the last class of the model).
        shap_sample: rows explained with SHAP (0 skips explanations).
        bootstrap: paired bootstrap replicates for the delta intervals (0 skips them).
        seed: seed for the bootstrap, SHAP and flip-test samples.
        slice_threshold: a slice is flagged when the challenger is worse by more than this.
        task: ``binary``, ``multiclass`` or ``regression``; inferred when None.
        slice_metric: the metric compared across slices (default accuracy, or rmse for regression).
        group_variable: the subgroup column for CDDL and CDDPL.

    Returns:
        The report; ``report.to_dict()`` is JSON-safe.

    Raises:
        ValidationError: missing label or columns, unseen labels, NaN predictions, or an incumbent
            whose input columns differ from the challenger's.

    Example:
        >>> import pandas as pd
        >>> from sklearn.linear_model import LogisticRegression
        >>> df = pd.DataFrame({"x": [0, 1, 2, 3, 4, 5], "y": [0, 0, 0, 1, 1, 1]})
        >>> clf = LogisticRegression().fit(df[["x"]], df["y"])
        >>> evaluate(clf, df, label="y", shap_sample=0).metrics["accuracy"]
        1.0
    """
    prepared = prepare(model, test_data, label, task=task, positive_label=positive_label)
    slices, sensitive = tuple(slices), tuple(sensitive)
    _check_columns(test_data, [*slices, *sensitive, *([group_variable] if group_variable else [])])
    metric_name = _slice_metric(prepared, slice_metric)
    warnings: list[str] = []
    new = predict(model, test_data, prepared, role="model")
    values, reasons = _metrics(prepared, new, prepared.y_true)
    old = _incumbent(incumbent, model, test_data, label=label, prepared=prepared)
    comparison = None
    if old is not None:
        comparison = _compare(prepared, new, old, values, bootstrap=bootstrap, seed=seed)
    slice_results = score_slices(
        test_data, slices, metric=metric_name, challenger=_scorer(prepared, new, metric_name),
        champion=_scorer(prepared, old, metric_name) if old is not None else None,
        overall=values.get(metric_name), threshold=slice_threshold, warnings=warnings)
    drop, drop_reason = max_drop(slice_results, bool(slices))
    return EvaluationReport(
        task=prepared.task, label=label, n_rows=len(test_data), classes=[str(c) for c in prepared.classes],
        positive_label=None if prepared.positive_label is None else str(prepared.positive_label),
        metrics=values, reasons=reasons, confusion_matrix=_confusion(prepared, new), curves=_curves(prepared, new),
        comparison=comparison, slice_metric=metric_name, slice_threshold=slice_threshold, slices=slice_results,
        max_slice_drop=drop, max_slice_drop_reason=drop_reason,
        bias=_bias(test_data, prepared, new, sensitive, group_variable=group_variable, seed=seed,
                   warnings=warnings),
        explanation=explain(model, test_data.loc[:, list(prepared.features)], sample=shap_sample, seed=seed,
                            class_index=_class_index(prepared)),
        warnings=warnings,
    )


def _check_columns(frame: pd.DataFrame, wanted: list[str]) -> None:
    absent = [c for c in wanted if c not in frame.columns]
    if absent:
        raise ValidationError(
            f"column(s) {absent} named in slices/sensitive/group_variable are not in test_data; "
            f"columns are {list(map(str, frame.columns))}.", missing=absent)


def _slice_metric(prepared: Prepared, name: str | None) -> str:
    allowed = metrics.REGRESSION_METRICS if prepared.task == "regression" else metrics.CLASSIFICATION_METRICS
    if name is None:
        return "rmse" if prepared.task == "regression" else "accuracy"
    name = metrics.ALIASES.get(name, name)
    if name not in allowed:
        raise ValidationError(f"slice_metric={name!r} is not a {prepared.task} metric; use one of {list(allowed)}.")
    return name


def _metrics(prepared: Prepared, preds: Predictions, y_true: np.ndarray) -> tuple[metrics.Values, metrics.Reasons]:
    if prepared.task == "regression":
        return metrics.regression_metrics(y_true, preds.y_pred)
    return metrics.classification_metrics(y_true, preds.y_pred, preds.proba, classes=prepared.classes,
                                          positive_label=prepared.positive_label)


def _incumbent(incumbent: Any, model: Any, frame: pd.DataFrame, *, label: str,
               prepared: Prepared) -> Predictions | None:
    """The incumbent's predictions on the same rows, after checking it takes the same columns."""
    if incumbent is None:
        return None
    features = resolve_features(incumbent, frame, label, role="incumbent")
    if feature_columns(incumbent) is None:  # it declares nothing: give it the challenger's columns
        features = prepared.features
    elif feature_columns(model) is not None:
        check_same_signature(prepared.features, features)
    if prepared.task != "regression":
        classes = tuple(getattr(incumbent, "classes_", prepared.classes))
        if [str(c) for c in classes] != [str(c) for c in prepared.classes]:
            raise ValidationError(
                f"the incumbent predicts classes {list(map(str, classes))} but the challenger predicts "
                f"{list(map(str, prepared.classes))}; both must be trained on the same label values.")
    return predict(incumbent, frame, dataclasses.replace(prepared, features=features), role="incumbent")


def _class_index(prepared: Prepared) -> int | None:
    if prepared.task == "regression":
        return None
    if prepared.positive_label is not None:
        return prepared.classes.index(prepared.positive_label)
    return len(prepared.classes) - 1


def _positive_score(prepared: Prepared, preds: Predictions) -> tuple[np.ndarray, np.ndarray | None]:
    is_pos = np.asarray(prepared.y_true == prepared.positive_label, dtype=bool)
    score = None if preds.proba is None else preds.proba[:, prepared.classes.index(prepared.positive_label)]
    return is_pos, score


def _confusion(prepared: Prepared, preds: Predictions) -> dict[str, Any] | None:
    if prepared.task == "regression":
        return None
    return metrics.confusion(prepared.y_true, preds.y_pred, prepared.classes)


def _curves(prepared: Prepared, preds: Predictions) -> dict[str, Any]:
    if prepared.task != "binary" or preds.proba is None:
        return {}
    is_pos, _ = _positive_score(prepared, preds)
    return metrics.curves(is_pos, preds.proba[:, prepared.classes.index(prepared.positive_label)])


def _scorer(prepared: Prepared, preds: Predictions | None, name: str) -> Any:
    if preds is None:
        return None

    def score(mask: np.ndarray) -> tuple[float | None, str | None]:
        if name == "accuracy":
            return metrics.finite(np.mean(preds.y_pred[mask] == prepared.y_true[mask])), None
        sub = Predictions(preds.y_pred[mask], None if preds.proba is None else preds.proba[mask])
        values, reasons = _metrics(prepared, sub, prepared.y_true[mask])
        return values.get(name), reasons.get(name)

    return score


def _row_scorer(prepared: Prepared, preds: Predictions) -> _bootstrap.Scorer:
    if prepared.task == "regression":
        return _bootstrap.regression_scorer(prepared.y_true, preds.y_pred)
    if prepared.task == "binary":
        is_pos, score = _positive_score(prepared, preds)
        return _bootstrap.binary_scorer(is_pos, score, np.asarray(preds.y_pred == prepared.positive_label))
    correct = np.asarray(preds.y_pred == prepared.y_true)
    loss = None
    if preds.proba is not None:
        onehot = np.stack([prepared.y_true == c for c in prepared.classes], axis=1)
        loss = -np.log(np.clip(np.sum(preds.proba * onehot, axis=1), 1e-15, 1.0))
    return _bootstrap.multiclass_scorer(correct, loss)


def _compare(prepared: Prepared, new: Predictions, old: Predictions, values: metrics.Values, *, bootstrap: int,
             seed: int) -> Comparison:
    old_values, old_reasons = _metrics(prepared, old, prepared.y_true)
    intervals = _bootstrap.paired_intervals(_row_scorer(prepared, new), _row_scorer(prepared, old),
                                            len(prepared.y_true), replicates=bootstrap, seed=seed)
    deltas = [_delta(name, values.get(name), old_values.get(name), intervals, bootstrap)
              for name in values]
    return Comparison(champion_metrics=old_values, champion_reasons=old_reasons, deltas=deltas,
                      bootstrap=bootstrap, champion_curves=_curves(prepared, old))


def _delta(name: str, new: float | None, old: float | None, intervals: dict[str, Any], bootstrap: int) -> MetricDelta:
    if new is None or old is None:
        return MetricDelta(metric=name, challenger=new, champion=old, delta=None,
                           reason="undefined for the challenger or the champion")
    delta = new - old
    improved = delta < 0 if name in metrics.LOWER_IS_BETTER else delta > 0
    ci = intervals.get(name)
    why = None
    if ci is None:
        why = "bootstrap disabled" if bootstrap <= 0 else "no bootstrap interval for this metric"
    return MetricDelta(metric=name, challenger=new, champion=old, delta=delta, improved=improved if delta else None,
                       ci_low=ci[0] if ci else None, ci_high=ci[1] if ci else None, reason=why)


def _bias(frame: pd.DataFrame, prepared: Prepared, preds: Predictions, sensitive: tuple[str, ...], *,
          group_variable: str | None, seed: int, warnings: list[str]) -> list[FacetBias]:
    if not sensitive:
        return []
    if prepared.task == "regression" or prepared.positive_label is None:
        warnings.append("bias metrics need a classification task with a positive_label; "
                        "pass positive_label= for multiclass tasks")
        return []
    favorable = np.asarray(prepared.y_true == prepared.positive_label, dtype=bool)
    predicted = np.asarray(preds.y_pred == prepared.positive_label, dtype=bool)
    groups = frame[group_variable].to_numpy() if group_variable else None
    numeric = frame.loc[:, list(prepared.features)].select_dtypes("number")
    out = []
    for column in sensitive:
        feats = numeric.drop(columns=[column], errors="ignore").fillna(0).to_numpy(dtype=float)
        for facet, in_d in slice_masks(frame, column, max_values=20, warnings=warnings):
            if not in_d.any():
                continue
            pre, pre_why = bias.pre_training(in_d, prepared.y_true.astype(str), favorable, groups=groups)
            post, post_why = bias.post_training(in_d, favorable, predicted, groups=groups, features=feats, seed=seed)
            out.append(FacetBias(column=column, facet=facet, n_d=int(in_d.sum()), n_a=int((~in_d).sum()),
                                 pre_training=pre, post_training=post, reasons={**pre_why, **post_why}))
    return out
