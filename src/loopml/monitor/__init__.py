"""Monitoring library: baselines, drift and quality checks, and alarms, in SageMaker's shapes.

Pure functions over pandas frames and plain dicts; schedules, storage and endpoints wire them in later.

* :func:`baseline` profiles a frame into Model Monitor ``statistics`` / ``constraints`` dicts, and
  :func:`write_statistics` / :func:`read_statistics` (and the constraints twins) store them as JSON.
* :func:`check_data_quality` checks a window against them; its report's ``to_dict()`` is
  ``constraint_violations.json``.
* :func:`check_model_quality` joins predictions with ground truth by event id and checks metrics.
* :func:`check_attribution_drift` compares feature-attribution rankings by nDCG, as Clarify does.
* :class:`Alarm` and :func:`evaluate_alarm` give CloudWatch's M-out-of-N alarm states.
"""

from __future__ import annotations

from loopml.monitor.alarms import Alarm, AlarmState, evaluate_alarm
from loopml.monitor.attribution import AttributionDriftReport, check_attribution_drift, ndcg
from loopml.monitor.data_quality import FeatureCheck, QualityReport, check_data_quality
from loopml.monitor.files import (
    read_constraints,
    read_statistics,
    write_constraints,
    write_statistics,
    write_violations,
)
from loopml.monitor.model_quality import ModelQualityReport, check_model_quality
from loopml.monitor.statistics import baseline, monitoring_config
from loopml.monitor.violations import Violation

__all__ = [
    "Alarm",
    "AlarmState",
    "AttributionDriftReport",
    "FeatureCheck",
    "ModelQualityReport",
    "QualityReport",
    "Violation",
    "baseline",
    "check_attribution_drift",
    "check_data_quality",
    "check_model_quality",
    "evaluate_alarm",
    "monitoring_config",
    "ndcg",
    "read_constraints",
    "read_statistics",
    "write_constraints",
    "write_statistics",
    "write_violations",
]
