"""The four checks as the scheduler runs them: one window in, an :class:`Outcome` out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from loopml.errors import ValidationError
from loopml.monitor import violations as v
from loopml.monitor._capture import CapturedWindow
from loopml.monitor.attribution import check_attribution_drift
from loopml.monitor.data_quality import check_data_quality
from loopml.monitor.model_quality import check_model_quality
from loopml.monitor.schedules import Schedule

BIAS_DRIFT_CHECK = "bias_drift_check"


@dataclass(frozen=True)
class Outcome:
    """What one check found: ``result`` is ok / violations / insufficient_data / failed."""

    result: str
    item_count: int
    violations: list[dict[str, Any]]
    metrics: dict[str, Any]
    report: dict[str, Any]
    message: str | None = None


def input_columns(sched: Schedule) -> list[str]:
    """Input column names, for decoding CSV captures: the settings', the baseline's or the signature's."""
    settings = sched.config.get("settings") or {}
    if settings.get("columns"):
        return list(settings["columns"])
    if sched.config.get("statistics"):
        from loopml.monitor.baselines import load_baseline

        stats, _ = load_baseline(sched.config["statistics"], sched.config["constraints"])
        return [f["name"] for f in stats["features"]]
    from loopml.monitor._signature_check import endpoint_inputs

    try:
        return endpoint_inputs(sched.endpoint or "")
    except Exception:  # noqa: BLE001 - a vanished endpoint still lets JSON captures decode
        return []


def run_check(sched: Schedule, window: CapturedWindow) -> Outcome:
    """Dispatch on the schedule's monitor type."""
    kind = sched.config["monitor_type"]
    check = {"data_quality": _data_quality, "model_quality": _model_quality, "bias_drift": _bias_drift,
             "attribution_drift": _attribution_drift}[kind]
    outcome = check(sched, window)
    outcome.metrics["undecodable_records"] = window.undecodable
    return outcome


def _settings(sched: Schedule) -> dict[str, Any]:
    return dict(sched.config.get("settings") or {})


def _data_quality(sched: Schedule, window: CapturedWindow) -> Outcome:
    from loopml.monitor.baselines import load_baseline

    stats, cons = load_baseline(sched.config["statistics"], sched.config["constraints"])
    report = check_data_quality(window.inputs, stats, cons, thresholds=sched.config.get("thresholds") or None,
                                min_rows=int(_settings(sched).get("min_rows", 30)))
    metrics: dict[str, Any] = {"item_count": report.item_count, "drifted_features": len(report.drifted_features)}
    for f in report.features:
        metrics[f"feature_baseline_drift_{f.name}"] = f.distance
    body = {"status": report.status, "item_count": report.item_count,
            "features": [f.__dict__ for f in report.features], **report.to_dict()}
    message = "not enough data in the window" if report.status == v.INSUFFICIENT_DATA else None
    return Outcome(report.status, report.item_count, report.to_dict()["violations"], metrics, body, message)


def _labels(sched: Schedule, window: CapturedWindow) -> tuple[pd.DataFrame, int]:
    """Ground truth for this window's events, plus labels whose event id matches no captured record."""
    from loopml.serve import capture

    truth = capture.read_ground_truth(sched.endpoint or "")
    seen = set(window.outputs["eventId"]) if len(window.outputs) else set()
    leftover = set(truth) - seen
    if leftover:
        captured = {str(r.get("eventMetadata", {}).get("eventId")) for r in capture.read_records(sched.endpoint or "")}
        leftover = {i for i in leftover if i.split("-")[0] not in captured and i not in captured}
    rows = [{"eventId": k, "label": _number(val)} for k, val in truth.items() if k in seen or k in leftover]
    return pd.DataFrame(rows, columns=["eventId", "label"]), len(leftover)


def _number(text: Any) -> Any:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return text
    return int(value) if value.is_integer() else value


def _model_quality(sched: Schedule, window: CapturedWindow) -> Outcome:
    settings = _settings(sched)
    truth, _ = _labels(sched, window)
    preds = window.outputs if len(window.outputs) else pd.DataFrame(columns=["eventId", "prediction"])
    report = check_model_quality(
        preds, truth, baseline_metrics=settings.get("baseline_metrics"),
        thresholds=sched.config.get("thresholds") or None, problem_type=settings.get("problem_type"),
        positive_label=settings.get("positive_label"), min_rows=int(settings.get("min_rows", 30)))
    metrics: dict[str, Any] = {k: val for k, val in report.metrics.items()}
    metrics.update(matched_count=report.matched_count, unknown_ground_truth_ids=report.unknown_ground_truth_ids,
                   unmatched_predictions=report.unmatched_predictions)
    body = {"status": report.status, "problem_type": report.problem_type, "metrics": report.metrics,
            "matched_count": report.matched_count, "unmatched_predictions": report.unmatched_predictions,
            "unknown_ground_truth_ids": report.unknown_ground_truth_ids, "duplicate_ids": report.duplicate_ids,
            "statistics": report.to_statistics(), **report.to_dict()}
    message = "not enough labelled predictions in the window" if report.status == v.INSUFFICIENT_DATA else None
    return Outcome(report.status, report.matched_count, report.to_dict()["violations"], metrics, body, message)


def _bias_drift(sched: Schedule, window: CapturedWindow) -> Outcome:
    from loopml.evaluate import bias

    settings = _settings(sched)
    facet = settings.get("facet")
    if not facet:
        raise ValidationError("a bias_drift schedule needs settings={'facet': COLUMN, 'facet_values': [...]} ")
    truth, _ = _labels(sched, window)
    joined = _joined(window, truth)
    favorable_values = list(settings.get("label_values", [1]))
    if facet not in joined or len(joined) < int(settings.get("min_rows", 30)):
        return _insufficient(len(joined), f"{len(joined)} labelled rows with facet {facet!r}; need more")
    in_d = joined[facet].isin(settings.get("facet_values", [])).to_numpy()
    if in_d.all() or not in_d.any():
        return _insufficient(len(joined), f"facet {facet!r} has only one group in this window")
    values, _ = bias.post_training(in_d, joined["label"].isin(favorable_values).to_numpy(),
                                   joined["prediction"].isin(favorable_values).to_numpy())
    found = _bounds(values, sched.config.get("thresholds") or {}, facet)
    metrics = {k: (None if val is None else float(val)) for k, val in values.items()}
    body = {"status": v.VIOLATIONS if found else v.OK, "facet": facet, "post_training_bias_metrics": metrics,
            "violations": found}
    return Outcome(v.VIOLATIONS if found else v.OK, len(joined), found, dict(metrics), body)


def _joined(window: CapturedWindow, truth: pd.DataFrame) -> pd.DataFrame:
    if not len(window.outputs) or not len(truth):
        return pd.DataFrame(columns=["eventId", "prediction", "label"])
    inputs = window.inputs.reset_index(names="eventId")
    frame = inputs.merge(window.outputs, on="eventId").merge(truth, on="eventId")
    return frame.dropna(subset=["prediction", "label"])


def _bounds(values: dict[str, Any], bounds: dict[str, Any], facet: str) -> list[dict[str, Any]]:
    found = []
    for metric, (low, high) in ((k, tuple(b)) for k, b in bounds.items()):
        value = values.get(metric)
        if value is not None and not low <= value <= high:
            found.append(v.Violation(
                BIAS_DRIFT_CHECK, f"{metric} for facet {facet!r} is {value:.4f}, outside the baseline bounds "
                f"[{low}, {high}]; review the model's treatment of this group and retrain or re-baseline.",
                feature_name=facet, metric_name=metric).to_dict())
    return found


def _attribution_drift(sched: Schedule, window: CapturedWindow) -> Outcome:
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
