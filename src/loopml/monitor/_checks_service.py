"""The four checks as the scheduler runs them: one window in, an :class:`Outcome` out."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from loopml.errors import LoopmlError, ValidationError
from loopml.monitor import violations as v
from loopml.monitor._capture import CapturedWindow
from loopml.monitor.kinds import monitor_check
from loopml.monitor.schedules import Schedule
from loopml.monitor.statistics import baseline


@dataclass(frozen=True)
class Outcome:
    """What one check found: ``result`` is ok / violations / insufficient_data / failed."""

    result: str
    item_count: int
    violations: list[dict[str, Any]]
    metrics: dict[str, Any]
    report: dict[str, Any]
    message: str | None = None


Check = Callable[..., Any]
_KINDS = {"Integral": "long", "Fractional": "double"}


def capture_columns(sched: Schedule) -> tuple[tuple[Any, ...], bool]:
    """The columns captured requests decode into, and whether to convert them as the server did.

    A loopml endpoint's model signature decodes exactly as the server did (check=True). Without one (a
    SageMaker capture folder, a vanished endpoint, a model with no signature), the settings' ``columns`` or
    the baseline's features, typed from the baseline, name the columns of row-shaped and CSV requests.
    """
    from loopml import serve

    if not sched.config.get("capture_uri"):
        from loopml.monitor._signature_check import endpoint_columns

        try:
            signature = endpoint_columns(sched.endpoint or "")
        except LoopmlError:
            signature = ()
        if signature:
            return tuple(signature), True
    kinds = _baseline_kinds(sched)
    names = list(_settings(sched).get("columns") or kinds)
    return tuple(serve.Column(str(n), _KINDS.get(kinds.get(str(n), ""), "string")) for n in names), False


def _baseline_kinds(sched: Schedule) -> dict[str, str]:
    if not sched.config.get("statistics"):
        return {}
    from loopml.monitor.baselines import load_baseline

    stats, _ = load_baseline(sched.config["statistics"], sched.config["constraints"])
    return {f["name"]: f.get("inferred_type", "") for f in stats["features"]}


def run_check(sched: Schedule, window: CapturedWindow) -> Outcome:
    """Run the schedule's monitor kind (a row of :data:`~loopml.monitor.kinds.MONITORS`) on one window."""
    kind = sched.config["monitor_type"]
    outcome = RUNS[kind](sched, window, monitor_check(kind))
    outcome.metrics["undecodable_records"] = window.undecodable
    outcome.report.update(records=window.records, undecodable_records=window.undecodable)
    return outcome


def _settings(sched: Schedule) -> dict[str, Any]:
    return dict(sched.config.get("settings") or {})


def _data_quality(sched: Schedule, window: CapturedWindow, check_data_quality: Check) -> Outcome:
    from loopml.monitor.baselines import load_baseline

    stats, cons = load_baseline(sched.config["statistics"], sched.config["constraints"])
    report = check_data_quality(window.inputs, stats, cons, thresholds=sched.config.get("thresholds") or None,
                                min_rows=int(_settings(sched).get("min_rows", 30)))
    metrics: dict[str, Any] = {"item_count": report.item_count, "drifted_features": len(report.drifted_features)}
    for f in report.features:
        metrics[f"feature_baseline_drift_{f.name}"] = f.distance
    body = {"status": report.status, "item_count": report.item_count,
            "features": [f.__dict__ for f in report.features], **report.to_dict(),
            "statistics": window_statistics(window.inputs),
            "baseline": {"statistics": sched.config["statistics"], "constraints": sched.config["constraints"]}}
    message = "not enough data in the window" if report.status == v.INSUFFICIENT_DATA else None
    return Outcome(report.status, report.item_count, report.to_dict()["violations"], metrics, body, message)


def window_statistics(frame: pd.DataFrame) -> dict[str, Any]:
    """Model Monitor's ``statistics.json`` of the window itself (what a monitoring execution writes)."""
    if len(frame) == 0 or frame.shape[1] == 0:
        return {"version": 0.0, "dataset": {"item_count": 0}, "features": []}
    frame = frame.loc[:, ~frame.columns.duplicated()].set_axis([str(c) for c in frame.columns[
        ~frame.columns.duplicated()]], axis=1)
    return baseline(frame)[0]


def _labels(sched: Schedule, window: CapturedWindow) -> pd.DataFrame:
    """Ground truth for this window's rows (by ``mergeId``: the inference id, else the event id), plus labels
    whose id matches no record captured within a day of the window (reported as unknown ids)."""
    from loopml.monitor import _window

    truth = _window.ground_truth(sched, window)
    seen = set(window.outputs["mergeId"])
    leftover = set(truth) - seen
    if leftover:
        known = _window.captured_ids(sched, window)
        leftover = {i for i in leftover if i not in known and _ROW_SUFFIX.sub("", i) not in known}
    rows = [{"mergeId": k, "label": val} for k, val in truth.items() if k in seen or k in leftover]
    return pd.DataFrame(rows, columns=["mergeId", "label"])


_ROW_SUFFIX = re.compile(r"-\d+$")


def _model_quality(sched: Schedule, window: CapturedWindow, check_model_quality: Check) -> Outcome:
    settings = _settings(sched)
    report = check_model_quality(
        window.outputs, _labels(sched, window), on="mergeId", baseline_metrics=settings.get("baseline_metrics"),
        thresholds=sched.config.get("thresholds") or None, problem_type=settings.get("problem_type"),
        positive_label=settings.get("positive_label"), probability_threshold=settings.get("probability_threshold"),
        min_rows=int(settings.get("min_rows", 30)))
    metrics: dict[str, Any] = {k: val for k, val in report.metrics.items()}
    metrics.update(matched_count=report.matched_count, unknown_ground_truth_ids=report.unknown_ground_truth_ids,
                   unmatched_predictions=report.unmatched_predictions)
    body = {"status": report.status, "problem_type": report.problem_type, "metrics": report.metrics,
            "matched_count": report.matched_count, "unmatched_predictions": report.unmatched_predictions,
            "unknown_ground_truth_ids": report.unknown_ground_truth_ids, "duplicate_ids": report.duplicate_ids,
            "statistics": report.to_statistics(), "constraints": report.to_constraints(), **report.to_dict()}
    message = "not enough labelled predictions in the window" if report.status == v.INSUFFICIENT_DATA else None
    return Outcome(report.status, report.matched_count, report.to_dict()["violations"], metrics, body, message)


def _bias_drift(sched: Schedule, window: CapturedWindow, check_bias_drift: Check) -> Outcome:
    settings = _settings(sched)
    facet = settings.get("facet")
    if not facet:
        raise ValidationError("a bias_drift schedule needs settings={'facet': COLUMN, 'facet_values': [...]} ")
    report = check_bias_drift(_joined(window, _labels(sched, window)), facet,
                              facet_values=settings.get("facet_values", []), bounds=sched.config.get("thresholds") or {},
                              label_values=settings.get("label_values", [1]), min_rows=int(settings.get("min_rows", 30)))
    if report.reason:
        return _insufficient(report.item_count, report.reason)
    found = report.to_dict()["violations"]
    body = {"status": report.status, "facet": facet, "post_training_bias_metrics": report.metrics,
            "violations": found}
    return Outcome(report.status, report.item_count, found, dict(report.metrics), body)


def _joined(window: CapturedWindow, truth: pd.DataFrame) -> pd.DataFrame:
    if not len(window.outputs) or not len(truth):
        return pd.DataFrame(columns=["eventId", "prediction", "label"])
    inputs = window.inputs.reset_index(names="eventId")
    frame = inputs.merge(window.outputs, on="eventId").merge(truth, on="mergeId")
    return frame.dropna(subset=["prediction", "label"])


def _attribution_drift(sched: Schedule, window: CapturedWindow, check_attribution_drift: Check) -> Outcome:
    from loopml import serve
    from loopml.monitor._shap_sandbox import window_attributions

    settings = _settings(sched)
    base = settings.get("baseline_attributions") or {}
    if len(window.inputs) < int(settings.get("min_rows", 30)) or not base:
        return _insufficient(len(window.inputs), f"{len(window.inputs)} captured rows; need more for SHAP")
    variant = next(x for x in serve.get(sched.endpoint or "").variants if not x.get("shadow"))
    frame = window.inputs[[c for c in base if c in window.inputs.columns]].infer_objects()
    found = window_attributions(str(variant["model"]), frame, sample=int(settings.get("sample", 200)),
                                class_index=settings.get("class_index"))
    if found["status"] != "ok":
        return _insufficient(len(frame), f"SHAP explanation {found['status']}: {found['reason']}")
    report = check_attribution_drift(base, found["global_importance"],
                                     threshold=float((sched.config.get("thresholds") or {}).get("ndcg", 0.9)))
    body = {"status": report.status, "ndcg": report.ndcg, "window_attributions": found["global_importance"],
            "baseline_attributions": base, **report.to_dict()}
    return Outcome(report.status, len(frame), report.to_dict()["violations"], {"ndcg": report.ndcg}, body)


def _insufficient(count: int, why: str) -> Outcome:
    return Outcome(v.INSUFFICIENT_DATA, count, [], {}, {"status": v.INSUFFICIENT_DATA, "reason": why,
                                                        "violations": []}, why)


RUNS: dict[str, Callable[[Schedule, CapturedWindow, Check], Outcome]] = {
    "data_quality": _data_quality, "model_quality": _model_quality, "bias_drift": _bias_drift,
    "attribution_drift": _attribution_drift}
"""How the scheduler feeds each monitor kind (every row of ``kinds.MONITORS``) its window and settings."""
