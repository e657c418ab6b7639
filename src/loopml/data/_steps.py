"""The recipe vocabulary: what each transform takes, how it is checked, and what it compiles to."""

from __future__ import annotations

import re
from typing import Any

from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, OrdinalEncoder, RobustScaler, StandardScaler

from loopml.data import transformers as tf

IMPUTE = ("mean", "median", "most_frequent", "constant")
SCALE = {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler}
DATA_STEPS = ("filter", "join")
"""Training-time data steps: they change which rows exist, so they never go into the served pipeline."""

# op -> (required keys, optional keys)
SPEC: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "impute": (("columns",), ("strategy", "fill_value")),
    "onehot": (("columns",), ("handle_unknown", "min_frequency", "max_categories")),
    "ordinal": (("columns",), ("categories", "unknown_value")),
    "scale": (("columns",), ("method",)),
    "clip": (("columns",), ("lower", "upper")),
    "log": (("columns",), ()),
    "bin": (("columns",), ("bins", "strategy")),
    "datetime_parts": (("columns",), ("parts", "drop")),
    "text_stats": (("columns",), ("features", "drop")),
    "drop": (("columns",), ()),
    "rename": (("mapping",), ()),
    "cast": (("types",), ()),
    "derive": (("column", "expr"), ()),
    "filter": (("where",), ()),
    "join": (("dataset", "on"), ("how", "version", "columns")),
}
_WINDOW = re.compile(r"\bover\s*\(", re.IGNORECASE)


def check_step(index: int, step: Any) -> list[str]:
    """Every problem with one step, as messages naming the step; empty when it is valid."""
    if not isinstance(step, dict) or "op" not in step:
        return [f"step {index}: must be a mapping with an 'op' key, got {step!r:.80}"]
    op, where = step["op"], f"step {index} ({step.get('name') or step['op']})"
    if op not in SPEC:
        return [f"{where}: unknown op {op!r}; allowed: {', '.join(SPEC)}"]
    required, optional = SPEC[op]
    errors = [f"{where}: missing {key!r}" for key in required if key not in step]
    extra = set(step) - set(required) - set(optional) - {"op", "name"}
    if extra:
        errors.append(f"{where}: unknown keys {sorted(extra)}; allowed: {sorted(set(required + optional))}")
    return errors + [f"{where}: {msg}" for msg in _check_values(op, step)]


def _check_values(op: str, step: dict[str, Any]) -> list[str]:
    errors = []
    cols = step.get("columns")
    if cols is not None and (not isinstance(cols, list) or not cols or not all(isinstance(c, str) for c in cols)):
        errors.append(f"'columns' must be a non-empty list of column names, got {cols!r:.80}")
    choices = {"impute": ("strategy", IMPUTE), "scale": ("method", tuple(SCALE)),
               "bin": ("strategy", ("quantile", "uniform")), "join": ("how", ("left", "inner"))}
    if op in choices:
        key, allowed = choices[op]
        if key in step and step[key] not in allowed:
            errors.append(f"{key} {step[key]!r} is not one of {', '.join(allowed)}")
    if op == "datetime_parts":
        errors += _subset(step.get("parts"), tf.DATETIME_PARTS, "parts")
    if op == "text_stats":
        errors += _subset(step.get("features"), tf.TEXT_FEATURES, "features")
    if op == "cast":
        types = step.get("types")
        if not isinstance(types, dict) or any(t not in tf.CAST_TYPES for t in types.values()):
            errors.append(f"'types' must map columns to one of {', '.join(tf.CAST_TYPES)}, got {types!r:.80}")
    if op == "rename" and not isinstance(step.get("mapping"), dict):
        errors.append("'mapping' must be an {old: new} mapping of column names")
    if op == "derive" and _WINDOW.search(str(step.get("expr", ""))):
        errors.append("window functions (OVER) are not row-level; compute them with a dataset SQL query")
    if op == "impute" and step.get("strategy") == "constant" and "fill_value" not in step:
        errors.append("strategy 'constant' needs a 'fill_value'")
    return errors


def _subset(values: Any, allowed: tuple[str, ...], key: str) -> list[str]:
    if values is None or (isinstance(values, list) and set(values) <= set(allowed)):
        return []
    return [f"'{key}' must be a list drawn from {', '.join(allowed)}, got {values!r:.80}"]


def _columns(estimator: Any, columns: list[str]) -> ColumnTransformer:
    ct = ColumnTransformer([("t", estimator, columns)], remainder="passthrough", verbose_feature_names_out=False)
    return ct.set_output(transform="pandas")


COLUMN_OPS = ("onehot", "ordinal", "scale")
"""Ops that compile to a scikit-learn estimator inside a ColumnTransformer."""


def compile_steps(steps: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    """``(name, estimator)`` pairs for a pipeline; adjacent encoder/scaler steps on disjoint columns share
    one ColumnTransformer (one pass over the frame instead of several)."""
    out: list[tuple[str, Any]] = []
    group: list[dict[str, Any]] = []
    for step in steps:
        taken = {c for g in group for c in g["columns"]}
        if group and (step["op"] not in COLUMN_OPS or taken & set(step["columns"])):
            out.append(_group(group))
            group = []
        if step["op"] in COLUMN_OPS:
            group.append(step)
        else:
            out.append((step["name"], compile_step(step)))
    return out + [_group(group)] if group else out


def _group(steps: list[dict[str, Any]]) -> tuple[str, Any]:
    parts = [(s["name"], _column_estimator(s), s["columns"]) for s in steps]
    ct = ColumnTransformer(parts, remainder="passthrough", verbose_feature_names_out=False)
    return "+".join(s["name"] for s in steps), ct.set_output(transform="pandas")


def compile_step(step: dict[str, Any]) -> Any:
    """The unfitted scikit-learn estimator for one row-level step."""
    op = step["op"]
    cols = step.get("columns", [])
    if op in COLUMN_OPS:
        return _columns(_column_estimator(step), cols)
    if op == "impute":
        return tf.ImputeColumns(cols, strategy=step.get("strategy", "mean"), fill_value=step.get("fill_value"))
    return _custom(op, step)


def _column_estimator(step: dict[str, Any]) -> Any:
    op = step["op"]
    if op == "onehot":
        unknown = step.get("handle_unknown", "ignore")
        if unknown == "ignore" and ("min_frequency" in step or "max_categories" in step):
            unknown = "infrequent_if_exist"
        return OneHotEncoder(handle_unknown=unknown, sparse_output=False, min_frequency=step.get("min_frequency"),
                             max_categories=step.get("max_categories"))
    if op == "ordinal":
        return OrdinalEncoder(categories=step.get("categories", "auto"), handle_unknown="use_encoded_value",
                              unknown_value=step.get("unknown_value", -1), encoded_missing_value=-1)
    return SCALE[step.get("method", "standard")]()


def _custom(op: str, step: dict[str, Any]) -> Any:
    cols = step.get("columns", [])
    if op == "clip":
        return tf.ClipColumns(cols, lower=step.get("lower"), upper=step.get("upper"))
    if op == "log":
        return tf.LogColumns(cols)
    if op == "bin":
        return tf.BinColumns(cols, bins=step.get("bins", 5), strategy=step.get("strategy", "quantile"))
    if op == "datetime_parts":
        return tf.DateTimeParts(cols, parts=step.get("parts"), drop=step.get("drop", True))
    if op == "text_stats":
        return tf.TextStats(cols, features=step.get("features"), drop=step.get("drop", True))
    if op == "drop":
        return tf.DropColumns(cols)
    if op == "rename":
        return tf.RenameColumns(dict(step["mapping"]))
    if op == "cast":
        return tf.CastColumns(dict(step["types"]))
    if op == "derive":
        return tf.SqlExpression(step["column"], step["expr"])
    raise ValueError(f"{op!r} is a data step, not a row-level transform")
