"""Alarm evaluation with CloudWatch's "M out of N" semantics, as a pure function over datapoints.

An :class:`Alarm` watches one metric. :func:`evaluate_alarm` looks at the last ``evaluation_periods``
datapoints (oldest first; ``None`` or NaN is a missing period) and returns ``ALARM`` when at least
``datapoints_to_alarm`` of them breach the threshold. Missing datapoints follow ``treat_missing_data``:

* ``missing`` (default): if every period is missing the state is ``INSUFFICIENT_DATA``; if fewer than M
  periods have data, the alarm fires only when every present datapoint breaches; otherwise M of the
  present datapoints must breach.
* ``ignore``: as ``missing``, but where ``missing`` would fall back on too little data the previous
  state is kept.
* ``breaching`` / ``notBreaching``: a missing period counts as breaching / not breaching.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from loopml.core import checks
from loopml.errors import ValidationError

COMPARISONS = {
    "GreaterThanThreshold": lambda value, threshold: value > threshold,
    "GreaterThanOrEqualToThreshold": lambda value, threshold: value >= threshold,
    "LessThanThreshold": lambda value, threshold: value < threshold,
    "LessThanOrEqualToThreshold": lambda value, threshold: value <= threshold,
}
MISSING_TREATMENTS = ("missing", "ignore", "breaching", "notBreaching")


class AlarmState(StrEnum):
    """The three CloudWatch alarm states."""

    OK = "OK"
    ALARM = "ALARM"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"


@dataclass(frozen=True)
class Alarm:
    """A threshold alarm on one metric.

    Args:
        metric: The metric watched, e.g. ``"feature_baseline_drift_age"`` or ``"accuracy"``.
        threshold: The value compared with each datapoint.
        comparison: One of ``GreaterThanThreshold``, ``GreaterThanOrEqualToThreshold``,
            ``LessThanThreshold``, ``LessThanOrEqualToThreshold``.
        datapoints_to_alarm: M, the breaching datapoints needed to fire.
        evaluation_periods: N, the most recent periods looked at.
        treat_missing_data: ``missing``, ``ignore``, ``breaching`` or ``notBreaching``.

    Raises:
        ValidationError: a threshold that is NaN or infinite, an unknown comparison or treatment, or not
            ``1 <= M <= N``.
    """

    metric: str
    threshold: float
    comparison: str = "GreaterThanThreshold"
    datapoints_to_alarm: int = 1
    evaluation_periods: int = 1
    treat_missing_data: str = "missing"

    def __post_init__(self) -> None:
        checks.number(self.threshold, f"the threshold of alarm on {self.metric!r}")
        if self.comparison not in COMPARISONS:
            raise ValidationError(
                f"Alarm {self.metric!r}: comparison {self.comparison!r} is not one of {sorted(COMPARISONS)}.",
                value=self.comparison,
            )
        if self.treat_missing_data not in MISSING_TREATMENTS:
            raise ValidationError(
                f"Alarm {self.metric!r}: treat_missing_data {self.treat_missing_data!r} is not one of "
                f"{MISSING_TREATMENTS}.",
                value=self.treat_missing_data,
            )
        if not 1 <= self.datapoints_to_alarm <= self.evaluation_periods:
            raise ValidationError(
                f"Alarm {self.metric!r}: datapoints_to_alarm={self.datapoints_to_alarm} and "
                f"evaluation_periods={self.evaluation_periods}; need 1 <= datapoints_to_alarm <= "
                "evaluation_periods (e.g. 3 out of 5).",
            )

    def is_breaching(self, value: float) -> bool:
        """Whether one present datapoint breaches the threshold."""
        return bool(COMPARISONS[self.comparison](value, self.threshold))


def evaluate_alarm(
    alarm: Alarm,
    datapoints: Sequence[float | None],
    *,
    previous_state: AlarmState | str = AlarmState.INSUFFICIENT_DATA,
) -> AlarmState:
    """The alarm's state after the given datapoints (oldest first; ``None``/NaN are missing periods).

    Args:
        alarm: The alarm to evaluate.
        datapoints: One value per period; only the last ``evaluation_periods`` are used, and a shorter
            history counts the earlier periods as missing.
        previous_state: The current state, kept by ``treat_missing_data="ignore"`` when data is short.

    Returns:
        ``AlarmState.OK``, ``AlarmState.ALARM`` or ``AlarmState.INSUFFICIENT_DATA``.

    Example:
        >>> alarm = Alarm("drift", 0.1, datapoints_to_alarm=2, evaluation_periods=3)
        >>> evaluate_alarm(alarm, [0.3, 0.05, 0.2]).value
        'ALARM'
    """
    window = list(datapoints)[-alarm.evaluation_periods :]
    padding: list[float | None] = [None] * (alarm.evaluation_periods - len(window))
    window = padding + window
    flags = [_flag(alarm, value) for value in window]
    treatment = alarm.treat_missing_data
    if treatment in ("breaching", "notBreaching"):
        flags = [treatment == "breaching" if flag is None else flag for flag in flags]
    present = [flag for flag in flags if flag is not None]
    if sum(present) >= alarm.datapoints_to_alarm:
        return AlarmState.ALARM
    if not present:
        return AlarmState(previous_state) if treatment == "ignore" else AlarmState.INSUFFICIENT_DATA
    if len(present) < alarm.datapoints_to_alarm and all(present):
        return AlarmState(previous_state) if treatment == "ignore" else AlarmState.ALARM
    return AlarmState.OK


def _flag(alarm: Alarm, value: float | None) -> bool | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return alarm.is_breaching(float(value))
