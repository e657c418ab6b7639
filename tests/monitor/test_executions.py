"""Monitoring executions over captured traffic: the four checks, bad input, and degenerate windows (case 30)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from loopml import events, monitor
from loopml.serve import capture
from tests.monitor.capture_helpers import record, records_for, store
from tests.monitor.conftest import make_frame

T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _schedule(home, base: pd.DataFrame, name: str = "dq", **kwargs):
    b = monitor.create_baseline(base)
    return monitor.create_monitoring_schedule(
        name, "ep", statistics=b.statistics_digest, constraints=b.constraints_digest, interval_seconds=3600,
        check_signature=False, **kwargs)


def test_data_quality_run_flags_drift_and_stores_violations_file(home, tmp_path):
    _schedule(home, make_frame(5000, 1))
    window = make_frame(800, 2)
    window["amount"] += 15.0
    store("ep", records_for(window, T0, spacing=2.0), tmp_path / "spool")
    ex = monitor.run_monitor("dq", window_start=T0, window_end=T0 + HOUR)
    assert (ex.status, ex.result, ex.item_count) == ("CompletedWithViolations", "violations", 800)
    doc = monitor.read_report(ex, violations=True)
    assert [v["feature_name"] for v in doc["violations"]] == ["amount"]
    assert doc["violations"][0]["constraint_check_type"] == "baseline_drift_check"
    assert ex.metrics["feature_baseline_drift_amount"] > 0.3 > ex.metrics["feature_baseline_drift_count"]
    assert monitor.list_executions(schedule="dq")[0].id == ex.id


def test_clean_window_passes_and_records_outside_the_window_are_ignored(home, tmp_path):
    _schedule(home, make_frame(5000, 1))
    shifted = make_frame(300, 3)
    shifted["amount"] += 50
    recs = records_for(make_frame(600, 2), T0) + records_for(shifted, T0 + HOUR, prefix="late")
    store("ep", recs, tmp_path / "spool")
    ex = monitor.run_monitor("dq", window_start=T0, window_end=T0 + HOUR)
    assert (ex.status, ex.violations, ex.item_count) == ("Completed", 0, 600)


def test_changed_capture_schema_is_reported_as_missing_and_extra_columns(home, tmp_path):
    _schedule(home, make_frame(5000, 1))
    window = make_frame(200, 2).drop(columns=["count"]).assign(region="north")
    store("ep", records_for(window, T0), tmp_path / "spool")
    ex = monitor.run_monitor("dq", window_start=T0, window_end=T0 + HOUR)
    kinds = {v["constraint_check_type"] for v in monitor.read_report(ex, violations=True)["violations"]}
    assert {"missing_column_check", "extra_column_check"} <= kinds
    assert ex.status == "CompletedWithViolations"


def test_undecodable_records_are_counted_not_fatal(home, tmp_path):
    _schedule(home, make_frame(5000, 1))
    recs = records_for(make_frame(100, 2), T0)
    recs[0]["captureData"]["endpointInput"]["data"] = "{not json"
    del recs[1]["captureData"]
    ex = monitor.run_monitor("dq", window_start=T0, window_end=T0 + HOUR, records=recs)
    assert ex.metrics["undecodable_records"] == 2 and ex.item_count == 98


def test_csv_captures_decode_in_baseline_column_order(home):
    _schedule(home, make_frame(5000, 1))
    frame = make_frame(100, 2)
    recs = [record(f"c{i}", row, 0, T0 + timedelta(seconds=i), csv=True)
            for i, row in enumerate(frame.to_dict(orient="records"))]
    ex = monitor.run_monitor("dq", window_start=T0, window_end=T0 + HOUR, records=recs)
    assert ex.item_count == 100 and ex.result == "ok"


DEGENERATE = {
    "empty": pd.DataFrame(columns=["amount", "count", "plan"]),
    "single_row": make_frame(1, 5),
    "all_nan": make_frame(100, 5).assign(amount=np.nan, count=np.nan, plan=None),
    "constant": make_frame(100, 5).assign(amount=100.0),
    "new_levels": make_frame(100, 5).assign(plan="enterprise"),
}


@pytest.mark.parametrize("case", sorted(DEGENERATE))
def test_degenerate_windows_never_raise_and_empty_ones_never_alarm(home, case):
    """RELIABILITY case 30: no exception, null metrics with insufficient_data, no false alert."""
    _schedule(home, make_frame(2000, 1))
    monitor.put_alarm("drift", source="schedule:dq", metric="violations", threshold=0, period_seconds=3600)
    recs = records_for(DEGENERATE[case], T0)
    ex = monitor.run_monitor("dq", window_start=T0, window_end=T0 + HOUR, records=recs)
    assert ex.status in ("Completed", "CompletedWithViolations")
    json.dumps(ex.to_dict(), allow_nan=False)
    monitor.evaluate_alarms(now=T0 + HOUR + timedelta(minutes=1))
    state = monitor.get_alarm("drift").state
    if case in ("empty", "single_row"):
        assert ex.result == "insufficient_data" and ex.violations == 0
        assert state == "INSUFFICIENT_DATA" and events.list_events() == []
    if case == "new_levels":
        assert ex.result == "violations" and state == "ALARM"


def test_zero_variance_reference_does_not_divide_by_zero(home):
    base = make_frame(2000, 1).assign(amount=5.0)
    _schedule(home, base)
    ex = monitor.run_monitor("dq", window_start=T0, window_end=T0 + HOUR,
                             records=records_for(make_frame(200, 2), T0))
    assert ex.status != "Failed"
    assert ex.result == "violations"  # the constant became a distribution: a real, finite drift


def _labelled(home, tmp_path, *, n: int = 400, flip: float = 0.0, unknown: int = 0):
    rng = np.random.default_rng(7)
    frame = make_frame(n, 4)
    truth = rng.integers(0, 2, n)
    preds = np.where(rng.random(n) < flip, 1 - truth, truth)
    store("ep", records_for(frame, T0, predictions=preds), tmp_path / "spool")
    labels = [f"e{i},{t}" for i, t in enumerate(truth)] + [f"ghost{i},1" for i in range(unknown)]
    path = tmp_path / "truth.csv"
    path.write_text("eventId,label\n" + "\n".join(labels) + "\n")
    capture.upload_ground_truth("ep", path)
    return frame, truth, preds


def test_model_quality_joins_ground_truth_by_event_id_and_counts_unknown_ids(home, tmp_path):
    _labelled(home, tmp_path, flip=0.3, unknown=7)
    monitor.create_monitoring_schedule("mq", "ep", monitor_type="model_quality", interval_seconds=3600,
                                       check_signature=False, thresholds={"accuracy": 0.1},
                                       settings={"baseline_metrics": {"accuracy": 0.95}})
    ex = monitor.run_monitor("mq", window_start=T0, window_end=T0 + HOUR)
    assert ex.metrics["matched_count"] == 400 and ex.metrics["unknown_ground_truth_ids"] == 7
    assert 0.6 < ex.metrics["accuracy"] < 0.8
    assert ex.status == "CompletedWithViolations"
    assert monitor.read_report(ex, violations=True)["violations"][0]["metric_name"] == "accuracy"


def test_model_quality_without_labels_is_not_enough_data(home, tmp_path):
    store("ep", records_for(make_frame(50, 4), T0), tmp_path / "spool")
    monitor.create_monitoring_schedule("mq", "ep", monitor_type="model_quality", interval_seconds=3600,
                                       check_signature=False)
    ex = monitor.run_monitor("mq", window_start=T0, window_end=T0 + HOUR)
    assert (ex.result, ex.violations, ex.status) == ("insufficient_data", 0, "Completed")


def test_bias_drift_flags_a_metric_outside_the_baseline_bounds(home, tmp_path):
    frame, truth, _ = _labelled(home, tmp_path)
    preds = np.where(frame["plan"] == "basic", 1, 0)  # the model now favours one group
    recs = records_for(frame, T0 + HOUR, prefix="e", predictions=preds)
    monitor.create_monitoring_schedule(
        "bias", "ep", monitor_type="bias_drift", interval_seconds=3600, check_signature=False,
        thresholds={"DPPL": [-0.1, 0.1]}, settings={"facet": "plan", "facet_values": ["basic"]})
    ex = monitor.run_monitor("bias", window_start=T0 + HOUR, window_end=T0 + 2 * HOUR, records=recs)
    assert ex.result == "violations", ex.message
    viol = monitor.read_report(ex, violations=True)["violations"][0]
    assert viol["metric_name"] == "DPPL" and viol["constraint_check_type"] == "bias_drift_check"
    fair = records_for(frame, T0 + HOUR, prefix="e", predictions=truth)
    ok = monitor.run_monitor("bias", window_start=T0 + HOUR, window_end=T0 + 2 * HOUR, records=fair)
    assert ok.result == "ok"


def test_a_failing_check_is_recorded_as_failed(home):
    monitor.create_monitoring_schedule("bias", "ep", monitor_type="bias_drift", interval_seconds=3600,
                                       check_signature=False)
    ex = monitor.run_monitor("bias", window_start=T0, window_end=T0 + HOUR, records=[])
    assert ex.status == "Failed" and "facet" in ex.message
