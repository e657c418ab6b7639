"""Monitoring library: baselines, drift and quality checks, and alarms, in SageMaker's shapes.

Pure functions over pandas frames and plain dicts; schedules, storage and endpoints wire them in later.

* :func:`baseline` profiles a frame into Model Monitor ``statistics`` / ``constraints`` dicts, and
  :func:`write_statistics` / :func:`read_statistics` (and the constraints twins) store them as JSON.
* :func:`check_data_quality` checks a window against them; its report's ``to_dict()`` is
  ``constraint_violations.json``.
* :func:`check_model_quality` joins predictions with ground truth by event id and checks metrics.
* :func:`check_attribution_drift` compares feature-attribution rankings by nDCG, as Clarify does.
* :func:`check_bias_drift` bounds a labelled window's post-training bias metrics, as Clarify does.
* :data:`MONITORS` is the table of monitor kinds a schedule runs (``monitor_type`` -> its check);
  :func:`monitor_check` returns a kind's check function.
* :class:`Alarm` and :func:`evaluate_alarm` give CloudWatch's M-out-of-N alarm states.

The service around them (metadata store, artifacts, scheduler):

* :func:`create_baseline` stores ``statistics.json`` / ``constraints.json`` from a dataset, file, frame or a
  model version's training data.
* :func:`create_monitoring_schedule` / :func:`create_pipeline_schedule` (cron or interval);
  :func:`run_monitor` runs one window over captured traffic (loopml's, or a SageMaker capture folder) and
  records a :class:`MonitoringExecution`; :func:`write_report_files` writes its Model Monitor files.
* :func:`put_alarm`, :func:`put_metric`, :func:`evaluate_alarms`: persisted alarms whose state changes emit
  events (see :mod:`loopml.events`).
* :func:`tick` / :func:`run_scheduler`: the scheduler (each slot runs once, even with two schedulers).
"""

from __future__ import annotations

from typing import Any

from loopml.monitor.alarms import Alarm, AlarmState, evaluate_alarm
from loopml.monitor.attribution import AttributionDriftReport, check_attribution_drift, ndcg
from loopml.monitor.bias_drift import BiasDriftReport, check_bias_drift
from loopml.monitor.data_quality import FeatureCheck, QualityReport, check_data_quality
from loopml.monitor.files import (
    read_constraints,
    read_statistics,
    write_constraints,
    write_statistics,
    write_violations,
)
from loopml.monitor.kinds import MONITORS, monitor_check
from loopml.monitor.model_quality import ModelQualityReport, check_model_quality
from loopml.monitor.statistics import baseline, monitoring_config
from loopml.monitor.violations import Violation

_LAZY = {
    "Baseline": "loopml.monitor.baselines", "create_baseline": "loopml.monitor.baselines",
    "load_baseline": "loopml.monitor.baselines", "store_baseline_files": "loopml.monitor.baselines",
    "Schedule": "loopml.monitor.schedules", "create_monitoring_schedule": "loopml.monitor.schedules",
    "create_pipeline_schedule": "loopml.monitor.schedules", "get_schedule": "loopml.monitor.schedules",
    "list_schedules": "loopml.monitor.schedules", "delete_schedule": "loopml.monitor.schedules",
    "set_enabled": "loopml.monitor.schedules",
    "MonitoringExecution": "loopml.monitor.executions", "run_monitor": "loopml.monitor.executions",
    "list_executions": "loopml.monitor.executions", "get_execution": "loopml.monitor.executions",
    "read_report": "loopml.monitor.executions", "write_report_files": "loopml.monitor.executions",
    "AlarmInfo": "loopml.monitor.metric_alarms", "put_alarm": "loopml.monitor.metric_alarms",
    "get_alarm": "loopml.monitor.metric_alarms", "list_alarms": "loopml.monitor.metric_alarms",
    "delete_alarm": "loopml.monitor.metric_alarms", "alarm_history": "loopml.monitor.metric_alarms",
    "put_metric": "loopml.monitor.metric_alarms", "evaluate_alarms": "loopml.monitor.metric_alarms",
    "sample_endpoint_metrics": "loopml.monitor.metric_alarms",
    "tick": "loopml.monitor.scheduler", "TickResult": "loopml.monitor.scheduler",
}


def __getattr__(name: str) -> Any:
    """Load the service modules (which need the metadata store) on first use."""
    import importlib

    if name == "run_scheduler":
        return importlib.import_module("loopml.monitor.scheduler").run
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'loopml.monitor' has no attribute {name!r}")


__all__ = [
    "Alarm",
    "AlarmInfo",
    "Baseline",
    "MonitoringExecution",
    "Schedule",
    "TickResult",
    "alarm_history",
    "create_baseline",
    "create_monitoring_schedule",
    "create_pipeline_schedule",
    "delete_alarm",
    "delete_schedule",
    "evaluate_alarms",
    "get_alarm",
    "get_execution",
    "get_schedule",
    "list_alarms",
    "list_executions",
    "list_schedules",
    "load_baseline",
    "put_alarm",
    "put_metric",
    "read_report",
    "run_monitor",
    "run_scheduler",
    "sample_endpoint_metrics",
    "set_enabled",
    "store_baseline_files",
    "tick",
    "AlarmState",
    "AttributionDriftReport",
    "BiasDriftReport",
    "FeatureCheck",
    "ModelQualityReport",
    "QualityReport",
    "Violation",
    "baseline",
    "check_attribution_drift",
    "check_bias_drift",
    "check_data_quality",
    "check_model_quality",
    "evaluate_alarm",
    "MONITORS",
    "monitor_check",
    "monitoring_config",
    "ndcg",
    "read_constraints",
    "read_statistics",
    "write_constraints",
    "write_statistics",
    "write_report_files",
    "write_violations",
]
