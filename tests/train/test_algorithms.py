from __future__ import annotations

import pytest

from loopml.errors import NotFoundError, ValidationError
from loopml.train.algorithms import ALGORITHMS, describe, validate_hyperparameters


def test_unknown_hyperparameter_lists_the_valid_ones_with_types():
    with pytest.raises(ValidationError, match=r"max_dept.*valid: .*max_depth \(int, default 6\)"):
        validate_hyperparameters("xgboost", {"target": "y", "max_dept": 6})


def test_values_from_the_command_line_are_cast_and_defaults_filled():
    hps = validate_hyperparameters("xgboost", {"target": "y", "max_depth": "4", "eta": "0.05"})
    assert hps["max_depth"] == 4 and hps["eta"] == 0.05 and hps["num_round"] == 100


def test_wrong_types_and_missing_target_are_explained():
    with pytest.raises(ValidationError, match="max_depth='deep' is not a valid int"):
        validate_hyperparameters("xgboost", {"target": "y", "max_depth": "deep"})
    with pytest.raises(ValidationError, match="target=<column>"):
        validate_hyperparameters("lightgbm", {})
    with pytest.raises(NotFoundError, match="choose one of"):
        validate_hyperparameters("catboost", {})


def test_every_builtin_is_documented():
    names = {a["name"] for a in describe()}
    assert names == set(ALGORITHMS) >= {"xgboost", "lightgbm", "linear-learner", "logistic_regression",
                                        "linear_regression", "random_forest", "hist_gradient_boosting", "kmeans"}
