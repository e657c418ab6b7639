"""Leakage detection: features that give the target away, and values from after the label was known.

Three checks, each explained in the report:

- *predictive*: a small tree on the feature alone predicts the target with a cross-validated ROC AUC
  (classification) or R² (regression) at or above the threshold. Real features rarely do that alone.
- *near_copy*: the feature is the target in disguise: correlation ``|r| >= 0.99``, or a one-to-one
  mapping between feature values and target values.
- *time_after_label*: a date/time column holds values later than the label time, so it was not known
  when the prediction would have been made.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from loopml.errors import ValidationError

NEAR_COPY_CORR = 0.99
MAX_CLASSES = 20
_DEPTH = 5


@dataclass(frozen=True)
class LeakageFinding:
    """One suspicious feature: what kind of leak, the evidence (a score) and why, in words."""

    feature: str
    kind: str
    score: float | None
    reason: str


@dataclass(frozen=True)
class LeakageReport:
    """The result of :func:`detect_leakage`.

    Attributes:
        target: the target column.
        task: ``classification`` or ``regression``.
        metric: ``roc_auc`` or ``r2``: the single-feature score.
        threshold: the score at or above which a feature is flagged.
        scores: every checked feature's single-feature score.
        findings: the flagged features, the strongest evidence first.
    """

    target: str
    task: str
    metric: str
    threshold: float
    scores: dict[str, float | None] = field(default_factory=dict)
    findings: tuple[LeakageFinding, ...] = ()

    @property
    def flagged(self) -> list[str]:
        """The names of the flagged features, sorted."""
        return sorted({f.feature for f in self.findings})

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["findings"] = [asdict(f) for f in self.findings]
        out["flagged"] = self.flagged
        return out


def _task(y: pd.Series) -> str:
    if pd.api.types.is_float_dtype(y) and not np.all(np.mod(y.dropna(), 1) == 0):
        return "regression"
    if pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y) and y.nunique() > MAX_CLASSES:
        return "regression"
    return "classification"


def _encode(values: pd.Series) -> np.ndarray:
    """One numeric column plus a missing indicator, for a single-feature tree."""
    if pd.api.types.is_datetime64_any_dtype(values):
        num = pd.Series(values.astype("int64", errors="ignore"), index=values.index).astype(float)
        num[values.isna()] = np.nan
    elif pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        num = pd.to_numeric(values, errors="coerce").astype(float)
    else:
        codes = values.astype(str).where(values.notna()).map(values.astype(str).value_counts().rank(method="first"))
        num = codes.astype(float)
    missing = num.isna() | ~np.isfinite(num)
    filled = num.where(~missing, (num[~missing].min() if (~missing).any() else 0.0) - 1.0)
    return np.column_stack([filled.to_numpy(), missing.to_numpy(dtype=float)])


def _score(x: np.ndarray, y: np.ndarray, task: str, seed: int) -> float | None:
    if task == "classification":
        _, counts = np.unique(y, return_counts=True)
        folds = int(min(5, counts.min()))
        if len(counts) < 2 or folds < 2:
            return None
        cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
        model = DecisionTreeClassifier(max_depth=_DEPTH, random_state=seed)
        scoring = "roc_auc" if len(counts) == 2 else "roc_auc_ovr"
    else:
        if len(y) < 10:
            return None
        cv, model, scoring = KFold(5, shuffle=True, random_state=seed), DecisionTreeRegressor(max_depth=_DEPTH), "r2"
    return float(np.mean(cross_val_score(model, x, y, cv=cv, scoring=scoring)))


def _near_copy(values: pd.Series, y: pd.Series, task: str) -> str | None:
    both = pd.DataFrame({"f": values, "y": y}).dropna()
    if len(both) < 3 or both["f"].nunique() < 2:
        return None
    if pd.api.types.is_numeric_dtype(both["f"]) and pd.api.types.is_numeric_dtype(both["y"]):
        f, t = both["f"].astype(float), both["y"].astype(float)
        r = f.corr(t) if f.std() > 0 and t.std() > 0 else np.nan
        if pd.notna(r) and abs(r) >= NEAR_COPY_CORR:
            return f"its correlation with the target is {r:.3f}; it is (nearly) a copy of the target"
    keys = both.astype(str)
    if task == "classification" and keys.groupby("f")["y"].nunique().max() == 1 \
            and keys.groupby("y")["f"].nunique().max() == 1:
        return "its values map one-to-one onto the target's values; it is the target recoded"
    return None


def _time_findings(df: pd.DataFrame, label: pd.Series, skip: set[str]) -> list[LeakageFinding]:
    found = []
    for col in df.columns:
        values = df[col]
        if col in skip or not pd.api.types.is_datetime64_any_dtype(values):
            continue
        stamps = pd.to_datetime(values, utc=True)
        later = (stamps > label) & stamps.notna() & label.notna()
        if later.any():
            first = int(np.flatnonzero(later.to_numpy())[0])
            found.append(LeakageFinding(
                feature=str(col), kind="time_after_label", score=float(later.mean()),
                reason=(f"it is later than the label time in {later.mean():.0%} of rows (e.g. row {first}: "
                        f"{stamps.iloc[first]} > {label.iloc[first]}); it was not known at prediction time"),
            ))
    return found


def _label_times(df: pd.DataFrame, label_time: str | datetime | None) -> pd.Series | None:
    if label_time is None:
        return None
    if isinstance(label_time, str) and label_time in df.columns:
        return pd.to_datetime(df[label_time], utc=True, errors="coerce")
    try:
        stamp = pd.Timestamp(label_time)
    except (ValueError, TypeError) as exc:
        raise ValidationError(
            f"label_time {label_time!r} is neither a column nor a timestamp; pass a column name or a datetime"
        ) from exc
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return pd.Series(stamp, index=df.index)


def detect_leakage(
    df: pd.DataFrame,
    target: str,
    *,
    label_time: str | datetime | None = None,
    threshold: float = 0.95,
    max_rows: int = 20_000,
    random_state: int = 0,
) -> LeakageReport:
    """Flag features that leak the target.

    Args:
        df: the training data, target included.
        target: the label column.
        label_time: the column holding when each label became known, or one timestamp for all rows;
            date/time columns later than it are flagged.
        threshold: flag a feature whose single-feature cross-validated AUC (or R²) reaches this.
        max_rows: rows sampled for the single-feature models.
        random_state: seed for sampling and folds.

    Returns:
        A report with every feature's score and the flagged ones, each with its reason.

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"y": [0, 1] * 20, "leak": [10, 20] * 20, "x": range(40)})
        >>> detect_leakage(df, "y").flagged
        ['leak']
    """
    if target not in df.columns:
        raise ValidationError(f"target {target!r} is not a column; columns: {list(df.columns)[:30]}")
    data = df[df[target].notna()]
    if len(data) > max_rows:
        data = data.sample(max_rows, random_state=random_state)
    task = _task(data[target])
    y = data[target].astype(str).to_numpy() if task == "classification" else data[target].astype(float).to_numpy()
    labels = _label_times(data, label_time)
    skip = {target} | ({label_time} if isinstance(label_time, str) else set())
    scores: dict[str, float | None] = {}
    findings = _time_findings(data, labels, skip) if labels is not None else []
    for col in (c for c in data.columns if c not in skip):
        copy = _near_copy(data[col], data[target], task)
        if copy:
            findings.append(LeakageFinding(str(col), "near_copy", None, copy))
        score = scores[str(col)] = _score(_encode(data[col]), y, task, random_state)
        if score is not None and score >= threshold:
            metric = "AUC" if task == "classification" else "R²"
            findings.append(LeakageFinding(str(col), "predictive", round(score, 4), (
                f"a depth-{_DEPTH} tree on this feature alone reaches cross-validated {metric} {score:.3f} "
                f"(threshold {threshold}); check that it is known before the label")))
    findings.sort(key=lambda f: (f.kind != "near_copy", -(f.score or 0)))
    return LeakageReport(target=target, task=task, metric="roc_auc" if task == "classification" else "r2",
                         threshold=threshold, scores=scores, findings=tuple(findings))
