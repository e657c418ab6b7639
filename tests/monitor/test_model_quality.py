from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from loopml.errors import ValidationError
from loopml.monitor import check_model_quality


def _frames(truth, predicted, *, extra_predictions=0, extra_truth=0):
    ids = [f"e{i}" for i in range(len(truth))]
    predictions = pd.DataFrame(
        {
            "eventId": ids + [f"p{i}" for i in range(extra_predictions)],
            "prediction": list(predicted) + [predicted[0]] * extra_predictions,
        }
    )
    labels = pd.DataFrame(
        {
            "eventId": ids + [f"g{i}" for i in range(extra_truth)],
            "label": list(truth) + [truth[0]] * extra_truth,
        }
    )
    return predictions, labels


def test_binary_metrics_and_unknown_ids_are_reported():
    predictions, labels = _frames([1, 1, 0, 0, 1, 0], [1, 0, 0, 1, 1, 0], extra_predictions=2, extra_truth=3)
    report = check_model_quality(predictions, labels)
    assert report.problem_type == "BinaryClassification"
    assert report.matched_count == 6
    assert report.unmatched_predictions == 2 and report.unknown_ground_truth_ids == 3
    assert report.metrics["accuracy"] == pytest.approx(4 / 6)
    assert report.metrics["precision"] == pytest.approx(2 / 3) and report.metrics["recall"] == pytest.approx(
        2 / 3
    )
    assert report.metrics["auc"] is None  # no scores given


def test_degradation_from_baseline_is_a_violation():
    predictions, labels = _frames([1, 1, 0, 0], [0, 1, 1, 0])
    report = check_model_quality(
        predictions,
        labels,
        baseline_metrics={"accuracy": 0.9, "f1": 0.6},
        thresholds={"accuracy": 0.1, "f1": 0.2},
    )
    assert report.status == "violations"
    [violation] = report.violations
    assert violation.metric_name == "accuracy" and violation.constraint_check_type == "LessThanThreshold"
    assert report.to_dict()["violations"][0]["metric_name"] == "accuracy"


def test_absolute_bounds_and_error_metrics_for_regression():
    predictions, labels = _frames([1.5, 2.5, 3.5, 4.5], [1.0, 3.0, 3.0, 6.0])
    report = check_model_quality(
        predictions,
        labels,
        baseline_metrics={"rmse": 0.5},
        thresholds={"rmse": 0.2, "r2": {"threshold": 0.9, "comparison_operator": "LessThanThreshold"}},
    )
    assert report.problem_type == "Regression"
    assert report.metrics["rmse"] == pytest.approx(np.sqrt((0.25 * 3 + 2.25) / 4))
    assert {v.metric_name for v in report.violations} == {"rmse", "r2"}
    assert (
        next(v for v in report.violations if v.metric_name == "rmse").constraint_check_type
        == "GreaterThanThreshold"
    )


def test_multiclass_with_scores_and_auc_for_binary():
    predictions, labels = _frames(["a", "b", "c", "a"], ["a", "b", "b", "a"])
    multi = check_model_quality(predictions, labels)
    assert multi.problem_type == "MulticlassClassification" and multi.metrics["accuracy"] == 0.75
    predictions, labels = _frames([0, 1, 0, 1], [0, 1, 1, 1])
    scored = check_model_quality(predictions.assign(probability=[0.1, 0.9, 0.6, 0.7]), labels)
    assert scored.metrics["auc"] == 1.0


def test_no_matches_is_insufficient_data_not_a_crash():
    predictions, labels = _frames([1, 0], [1, 0])
    report = check_model_quality(
        predictions,
        labels.assign(eventId=["x", "y"]),
        baseline_metrics={"accuracy": 1.0},
        thresholds={"accuracy": 0.0},
    )
    assert report.status == "insufficient_data" and report.matched_count == 0
    assert report.metrics["accuracy"] is None and report.violations == ()
    assert report.unknown_ground_truth_ids == 2 and report.unmatched_predictions == 2


def test_single_class_window_leaves_undefined_rates_none():
    predictions, labels = _frames([0, 0, 0], [0, 0, 0])
    report = check_model_quality(predictions, labels, problem_type="BinaryClassification")
    assert report.metrics["accuracy"] == 1.0 and report.metrics["recall"] is None


def test_duplicate_ids_keep_the_last_row():
    predictions = pd.DataFrame({"eventId": ["a", "a", "b"], "prediction": [0, 1, 1]})
    labels = pd.DataFrame({"eventId": ["a", "b"], "label": [1, 1]})
    report = check_model_quality(predictions, labels)
    assert report.duplicate_ids == 1 and report.metrics["accuracy"] == 1.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"on": "request_id"}, "no column"),
        ({"thresholds": {"bleu": 0.1}}, "unknown metric"),
        ({"thresholds": {"accuracy": 0.1}}, "baseline_metrics has no"),
        (
            {"thresholds": {"accuracy": {"threshold": 0.5, "comparison_operator": "Near"}}},
            "comparison_operator",
        ),
        ({"problem_type": "Ranking"}, "problem_type"),
    ],
)
def test_bad_arguments_say_what_is_allowed(kwargs, match):
    predictions, labels = _frames([1, 0], [1, 0])
    with pytest.raises(ValidationError, match=match):
        check_model_quality(predictions, labels, **kwargs)


def test_rows_missing_a_value_are_counted_and_statistics_follow_model_monitor():
    predictions, labels = _frames([1, 0, 1], [1, 0, None])
    report = check_model_quality(predictions, labels)
    assert report.matched_count == 2 and report.incomplete_rows == 1
    body = report.to_statistics()
    assert body["dataset"] == {"item_count": 2}
    assert body["binary_classification_metrics"]["accuracy"] == {"value": 1.0}


BINARY_FORMS = {
    "int": [0, 1, 1, 0, 1, 0, 0, 1],
    "float": [0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0],
    "bool": [False, True, True, False, True, False, False, True],
    "str": ["0", "1", "1", "0", "1", "0", "0", "1"],
    "str_float": ["0.0", "1.0", "1.0", "0.0", "1.0", "0.0", "0.0", "1.0"],
    "str_bool": ["false", "True", "TRUE", "False", "true", "false", "FALSE", "true"],
}


def _flip_last(values):
    return list(values[:-1]) + [values[0]]  # the last (positive) row predicted as the first (negative) value


@pytest.mark.parametrize("label_form", sorted(BINARY_FORMS))
@pytest.mark.parametrize("prediction_form", sorted(BINARY_FORMS))
def test_labels_and_predictions_compare_by_value_whatever_their_types(label_form, prediction_form):
    """0, 0.0, False, "0", "0.0" and "false" are one class; one flipped prediction of eight."""
    predictions, labels = _frames(BINARY_FORMS[label_form], _flip_last(BINARY_FORMS[prediction_form]))
    report = check_model_quality(predictions, labels)
    assert report.problem_type == "BinaryClassification"
    assert report.metrics["accuracy"] == pytest.approx(7 / 8)
    assert report.metrics["recall"] == pytest.approx(3 / 4) and report.metrics["precision"] == 1.0
    assert report.confusion_matrix == {"0": {"0": 4, "1": 0}, "1": {"0": 1, "1": 3}}


MULTI_FORMS = {"int": [0, 1, 2, 2], "float": [0.0, 1.0, 2.0, 2.0], "str": ["0", "1", "2", "2"],
               "str_float": ["0.0", "1.0", "2.0", "2.0"]}


@pytest.mark.parametrize("label_form", sorted(MULTI_FORMS))
@pytest.mark.parametrize("prediction_form", sorted(MULTI_FORMS))
def test_multiclass_float_predictions_match_int_labels(label_form, prediction_form):
    """The issue's case: predictions [0.0, 1.0, 2.0] against labels [0, 1, 2] is accuracy 1, not 0."""
    predictions, labels = _frames(MULTI_FORMS[label_form], MULTI_FORMS[prediction_form])
    report = check_model_quality(predictions, labels)
    assert report.problem_type == "MulticlassClassification"
    assert report.metrics["accuracy"] == 1.0 and report.metrics["weighted_f1"] == 1.0


def test_text_classes_never_equal_numbers_and_ids_match_by_value():
    predictions = pd.DataFrame({"eventId": [1, 2, 3, 4], "prediction": ["cat", "dog", 1, "cat"]})
    labels = pd.DataFrame({"eventId": ["1", "2.0", 3.0, "4"], "label": ["cat", "dog", "cat", "cat"]})
    report = check_model_quality(predictions, labels, problem_type="MulticlassClassification")
    assert report.matched_count == 4 and report.metrics["accuracy"] == 0.75


def test_regression_with_text_labels_says_so():
    predictions, labels = _frames(["a", "b"], [1.0, 2.0])
    with pytest.raises(ValidationError, match="numeric labels"):
        check_model_quality(predictions, labels, problem_type="Regression")


def test_probability_threshold_turns_scores_into_classes_and_auc_uses_the_scores():
    """Model Monitor's probability_threshold_attribute: the model returns P(positive) (XGBoost style)."""
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(3)
    truth = rng.integers(0, 2, 500)
    scores = np.clip(truth * 0.35 + rng.random(500) * 0.65, 0, 1)
    predictions = pd.DataFrame({"eventId": range(500), "prediction": scores})
    labels = pd.DataFrame({"eventId": [str(i) for i in range(500)], "label": truth.astype(str)})
    report = check_model_quality(predictions, labels, probability_threshold=0.6)
    assert report.problem_type == "BinaryClassification"
    assert report.metrics["accuracy"] == pytest.approx(np.mean((scores >= 0.6) == truth))
    assert report.metrics["auc"] == pytest.approx(roc_auc_score(truth, scores))
    with_column = check_model_quality(predictions.assign(prediction=0, probability=scores), labels,
                                      probability_threshold=0.6)
    assert with_column.metrics == report.metrics
    with pytest.raises(ValidationError, match="probability_threshold"):
        check_model_quality(predictions, labels, probability_threshold=1.5)
    with pytest.raises(ValidationError, match=r"in \[0, 1\]"):
        check_model_quality(predictions.assign(prediction=scores * 3), labels, probability_threshold=0.5)


def test_statistics_carry_the_confusion_matrix_as_model_monitor_writes_it():
    """Keyed by true label then predicted label, as in Model Monitor's documented example."""
    predictions, labels = _frames([0, 0, 0, 1], [0, 1, 1, 1])
    body = check_model_quality(predictions, labels).to_statistics()["binary_classification_metrics"]
    assert body["confusion_matrix"] == {"0": {"0": 1, "1": 2}, "1": {"0": 0, "1": 1}}
    assert body["recall"] == {"value": 1.0} and body["precision"]["value"] == pytest.approx(1 / 3)
