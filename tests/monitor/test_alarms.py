from __future__ import annotations

import math

import pytest

from loopml.errors import ValidationError
from loopml.monitor import Alarm, AlarmState, evaluate_alarm

X, G, _ = 1.0, 0.0, None  # breaching, not breaching, missing (threshold 0.5, GreaterThanThreshold)


def _alarm(treat="missing"):
    return Alarm("drift", 0.5, datapoints_to_alarm=3, evaluation_periods=5, treat_missing_data=treat)


# CloudWatch's documented table for 3 out of 5, columns missing / ignore / breaching / notBreaching.
TABLE = [
    ([G, G, X, G, X], ["OK", "OK", "OK", "OK"]),
    ([G, _, X, _, X], ["OK", "OK", "ALARM", "OK"]),
    ([_, _, _, _, G], ["OK", "OK", "ALARM", "OK"]),
    ([_, _, _, _, _], ["INSUFFICIENT_DATA", "PREVIOUS", "ALARM", "OK"]),
    ([G, X, X, _, X], ["ALARM", "ALARM", "ALARM", "ALARM"]),
    ([_, _, X, _, _], ["ALARM", "PREVIOUS", "ALARM", "OK"]),
]


@pytest.mark.parametrize(("points", "expected"), TABLE)
def test_m_out_of_n_follows_cloudwatch_missing_data_table(points, expected):
    treatments = ["missing", "ignore", "breaching", "notBreaching"]
    for treat, state in zip(treatments, expected, strict=True):
        want = AlarmState.OK if state == "PREVIOUS" else AlarmState(state)
        assert evaluate_alarm(_alarm(treat), points, previous_state=AlarmState.OK) == want, (treat, points)


def test_only_the_last_n_periods_count_and_nan_is_missing():
    alarm = _alarm()
    assert evaluate_alarm(alarm, [X, X, X, G, G, G, G, G]) == AlarmState.OK
    assert evaluate_alarm(alarm, [math.nan] * 5) == AlarmState.INSUFFICIENT_DATA
    assert evaluate_alarm(alarm, []) == AlarmState.INSUFFICIENT_DATA


@pytest.mark.parametrize(
    ("comparison", "value", "state"),
    [
        ("GreaterThanThreshold", 0.5, "OK"),
        ("GreaterThanOrEqualToThreshold", 0.5, "ALARM"),
        ("LessThanThreshold", 0.4, "ALARM"),
        ("LessThanOrEqualToThreshold", 0.6, "OK"),
    ],
)
def test_comparisons(comparison, value, state):
    assert evaluate_alarm(Alarm("m", 0.5, comparison), [value]).value == state


@pytest.mark.parametrize(
    "kwargs",
    [
        {"comparison": "Above"},
        {"treat_missing_data": "skip"},
        {"datapoints_to_alarm": 4, "evaluation_periods": 3},
    ],
)
def test_invalid_alarms_are_rejected(kwargs):
    with pytest.raises(ValidationError):
        Alarm("m", 1.0, **kwargs)
