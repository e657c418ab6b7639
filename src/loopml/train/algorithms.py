"""Built-in algorithms: their hyperparameters (types and defaults) and validation.

Every built-in also takes the common hyperparameters ``target`` (the label column; not for k-means),
``task`` (``auto`` | ``classification`` | ``regression``), ``seed`` and ``checkpoint_every`` (boosting
rounds or epochs between checkpoints; 0 turns checkpoints off).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from loopml.errors import NotFoundError, ValidationError


@dataclass(frozen=True)
class HyperParameter:
    """One hyperparameter: its name, type (``int``, ``float``, ``str``, ``bool``), default and meaning."""

    name: str
    type: str
    default: Any
    help: str = ""
    choices: tuple[str, ...] | None = None

    def cast(self, value: Any) -> Any:
        """``value`` (often a string from the command line) as this parameter's type."""
        try:
            out = _CASTS[self.type](value)
        except (TypeError, ValueError) as exc:
            raise ValidationError(
                f"hyperparameter {self.name}={value!r} is not a valid {self.type}; pass e.g. "
                f"{self.name}={self.default!r}", name=self.name) from exc
        if self.choices and out not in self.choices:
            raise ValidationError(f"hyperparameter {self.name}={out!r} must be one of {', '.join(self.choices)}")
        return out


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(value)
    return bool(value)


def _int(value: Any) -> int:
    number = float(value)
    if not number.is_integer():
        raise ValueError(value)
    return int(number)


_CASTS: dict[str, Callable[[Any], Any]] = {"int": _int, "float": float, "str": str, "bool": _bool}


@dataclass(frozen=True)
class Algorithm:
    """A built-in algorithm: what it does, which tasks it supports, its hyperparameters."""

    name: str
    description: str
    tasks: tuple[str, ...]
    hyperparameters: tuple[HyperParameter, ...]
    checkpoints: bool = False

    def defaults(self) -> dict[str, Any]:
        return {h.name: h.default for h in self.hyperparameters}


H = HyperParameter
COMMON = (
    H("target", "str", "", "the label column (required except for k-means)"),
    H("task", "str", "auto", "auto infers from the label", ("auto", "classification", "regression")),
    H("seed", "int", 0, "random seed"),
    H("checkpoint_every", "int", 10, "rounds/epochs between checkpoints (0: none)"),
)
CLS_REG = ("classification", "regression")

ALGORITHMS: dict[str, Algorithm] = {a.name: a for a in (
    Algorithm("xgboost", "XGBoost gradient-boosted trees (hist)", CLS_REG, (
        H("num_round", "int", 100, "boosting rounds"), H("max_depth", "int", 6, "tree depth"),
        H("eta", "float", 0.3, "learning rate"), H("subsample", "float", 1.0, "row sampling"),
        H("colsample_bytree", "float", 1.0, "column sampling"), H("min_child_weight", "float", 1.0),
        H("lambda", "float", 1.0, "L2 regularization"), H("alpha", "float", 0.0, "L1 regularization"),
        H("early_stopping_rounds", "int", 0, "stop when validation does not improve (0: off)"),
    ), checkpoints=True),
    Algorithm("lightgbm", "LightGBM gradient-boosted trees", CLS_REG, (
        H("num_round", "int", 100, "boosting rounds"), H("num_leaves", "int", 31),
        H("learning_rate", "float", 0.1), H("max_depth", "int", -1, "-1: no limit"),
        H("min_data_in_leaf", "int", 20), H("feature_fraction", "float", 1.0), H("lambda_l2", "float", 0.0),
    ), checkpoints=True),
    Algorithm("linear-learner", "NumPy logistic/linear regression trained with Adam (checkpoints "
              "weights, optimizer and RNG state: bitwise-identical resume)", CLS_REG, (
        H("epochs", "int", 50), H("learning_rate", "float", 0.05), H("mini_batch_size", "int", 64),
        H("l2", "float", 0.0, "L2 penalty"),
    ), checkpoints=True),
    Algorithm("logistic_regression", "scikit-learn LogisticRegression", ("classification",), (
        H("C", "float", 1.0, "inverse regularization"), H("max_iter", "int", 1000),
    )),
    Algorithm("linear_regression", "scikit-learn Ridge (alpha=0: ordinary least squares)", ("regression",), (
        H("alpha", "float", 0.0, "L2 penalty"),
    )),
    Algorithm("random_forest", "scikit-learn random forest", CLS_REG, (
        H("n_estimators", "int", 100), H("max_depth", "int", 0, "0: no limit"), H("min_samples_leaf", "int", 1),
        H("max_features", "str", "sqrt", "sqrt, log2 or a fraction such as 0.5"),
    )),
    Algorithm("hist_gradient_boosting", "scikit-learn HistGradientBoosting", CLS_REG, (
        H("max_iter", "int", 100), H("learning_rate", "float", 0.1), H("max_leaf_nodes", "int", 31),
        H("max_depth", "int", 0, "0: no limit"), H("l2_regularization", "float", 0.0),
    )),
    Algorithm("kmeans", "scikit-learn k-means clustering", ("clustering",), (
        H("k", "int", 8, "number of clusters"), H("max_iter", "int", 300), H("n_init", "int", 1),
    )),
)}


def get_algorithm(name: str) -> Algorithm:
    """The built-in named ``name``.

    Raises:
        NotFoundError: no such built-in; the message lists them.
    """
    if name not in ALGORITHMS:
        raise NotFoundError(f"no built-in algorithm {name!r}; choose one of {', '.join(sorted(ALGORITHMS))}",
                            algorithm=name)
    return ALGORITHMS[name]


def validate_hyperparameters(name: str, values: dict[str, Any]) -> dict[str, Any]:
    """Defaults overlaid with ``values``, each cast to its type.

    Raises:
        ValidationError: an unknown hyperparameter (the message lists the valid ones with their types)
            or a value of the wrong type.
    """
    algorithm = get_algorithm(name)
    known = {h.name: h for h in (*COMMON, *algorithm.hyperparameters)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        valid = ", ".join(f"{h.name} ({h.type}, default {h.default!r})" for h in known.values())
        raise ValidationError(f"unknown hyperparameter(s) {', '.join(unknown)} for {name}; valid: {valid}",
                              algorithm=name, unknown=unknown)
    out = {h.name: h.default for h in known.values()}
    out.update({k: known[k].cast(v) for k, v in values.items()})
    if "clustering" not in algorithm.tasks and not out["target"]:
        raise ValidationError(f"{name} needs the label column: pass target=<column> (e.g. -H target=churned)")
    return out


def describe() -> list[dict[str, Any]]:
    """Every built-in with its hyperparameters, for docs and ``loopml train algorithms``."""
    return [{"name": a.name, "description": a.description, "tasks": list(a.tasks), "checkpoints": a.checkpoints,
             "hyperparameters": [h.__dict__ for h in (*COMMON, *a.hyperparameters)]} for a in ALGORITHMS.values()]
