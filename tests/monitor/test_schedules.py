"""Schedules: timing, bad input at creation, baseline vs the endpoint's model signature, attribution drift."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from loopml import monitor
from loopml.errors import ConflictError, NotFoundError, ValidationError
from loopml.monitor.schedules import Schedule
from tests.monitor.capture_helpers import records_for
from tests.monitor.conftest import make_frame

T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def _numeric(rows: int, seed: int) -> pd.DataFrame:
    return make_frame(rows, seed)[["amount", "count"]]


@pytest.fixture
def endpoint(home):
    """Endpoint 'ep' (not started) serving an approved tree model over amount and count."""
    from sklearn.ensemble import GradientBoostingClassifier

    from loopml import registry, serve
    from loopml.core import context, identity
    from loopml.models.signature import infer_signature

    with context.get_db().write() as conn:
        identity.grant(conn, "root", "admin", actor="root")
        identity.grant(conn, "alice", "data-scientist", actor="root")
        identity.grant(conn, "bob", "approver", actor="root")
    frame = _numeric(600, 1)
    target = (frame["amount"] > 100).astype(int)
    model = GradientBoostingClassifier(n_estimators=20, max_depth=2).fit(frame, target)
    version = registry.register(model, "churn", signature=infer_signature(frame), actor="alice")
    registry.approve("churn", version.version, note="ok", actor="bob")
    serve.create("ep", f"churn:{version.version}", start=False)
    return model


@pytest.mark.parametrize("cron", ["every hour", "61 * * * *", "* * * *", "0 0 31 2 * *"])
def test_a_cron_expression_that_does_not_parse_is_refused_at_creation(home, cron):
    with pytest.raises(ValidationError, match="cron expression"):
        monitor.create_pipeline_schedule("nightly", "tests.monitor.retrain_pipeline:retrain", cron=cron)
    assert monitor.list_schedules() == []


def test_timing_needs_exactly_one_of_cron_and_interval(home):
    for kwargs in ({}, {"cron": "0 * * * *", "interval_seconds": 60}, {"interval_seconds": 0.5}):
        with pytest.raises(ValidationError):
            monitor.create_pipeline_schedule("p", "tests.monitor.retrain_pipeline:retrain", **kwargs)


def test_names_are_unique_and_types_checked(home):
    monitor.create_pipeline_schedule("p", "tests.monitor.retrain_pipeline:retrain", interval_seconds=60)
    with pytest.raises(ConflictError):
        monitor.create_pipeline_schedule("p", "tests.monitor.retrain_pipeline:retrain", interval_seconds=60)
    with pytest.raises(ValidationError, match="monitor_type"):
        monitor.create_monitoring_schedule("m", "ep", monitor_type="vibes", interval_seconds=60)


def test_cron_and_interval_slots():
    created = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
    hourly = Schedule("s1", "h", "monitor", "0 * * * *", None, {}, True, "a", created)
    assert hourly.latest_slot(datetime(2026, 11, 28, 9, 59, tzinfo=UTC)) is None
    assert hourly.latest_slot(datetime(2026, 11, 28, 11, 0, tzinfo=UTC)) == datetime(2026, 11, 28, 11, 0, tzinfo=UTC)
    assert hourly.latest_slot(datetime(2026, 11, 28, 11, 59, tzinfo=UTC)) == datetime(2026, 11, 28, 11, 0, tzinfo=UTC)
    every = Schedule("s2", "i", "pipeline", None, 900.0, {}, True, "a", created)
    assert every.latest_slot(created + timedelta(minutes=20)) == datetime(2026, 11, 28, 9, 45, tzinfo=UTC)


def test_a_baseline_that_does_not_match_the_model_signature_is_refused(endpoint):
    wrong = monitor.create_baseline(make_frame(500, 1).rename(columns={"count": "visits"}))
    with pytest.raises(ValidationError, match=r"lacks \['count'\] and has extra \['plan', 'visits'\]"):
        monitor.create_monitoring_schedule("dq", "ep", statistics=wrong.statistics_digest,
                                           constraints=wrong.constraints_digest, interval_seconds=3600)
    right = monitor.create_baseline(_numeric(500, 1))
    sched = monitor.create_monitoring_schedule("dq", "ep", statistics=right.statistics_digest,
                                               constraints=right.constraints_digest, interval_seconds=3600)
    assert sched.endpoint == "ep"


def test_unknown_endpoint_and_missing_baseline_artifact(home):
    b = monitor.create_baseline(_numeric(100, 1))
    with pytest.raises(NotFoundError):
        monitor.create_monitoring_schedule("dq", "nope", statistics=b.statistics_digest,
                                           constraints=b.constraints_digest, interval_seconds=60)
    with pytest.raises(NotFoundError, match="not in the artifact store"):
        monitor.create_monitoring_schedule("dq", "nope", statistics="sha256:" + "0" * 64,
                                           constraints=b.constraints_digest, interval_seconds=60)


def test_baseline_files_follow_model_monitor_and_can_be_edited(home, tmp_path):
    path = tmp_path / "data.csv"
    make_frame(300, 1).to_csv(path, index=False)
    b = monitor.create_baseline(str(path), folder=tmp_path / "bl")
    assert b.source == "data.csv" and b.features == ("amount", "count", "plan")
    cons = (tmp_path / "bl" / "constraints.json").read_text()
    assert '"monitoring_config"' in cons and '"completeness"' in cons
    edited = cons.replace('"comparison_threshold": 0.1', '"comparison_threshold": 0.2')
    (tmp_path / "bl" / "constraints.json").write_text(edited)
    again = monitor.store_baseline_files(tmp_path / "bl")
    assert again.constraints_digest != b.constraints_digest and again.statistics_digest == b.statistics_digest
    with pytest.raises(NotFoundError):
        monitor.create_baseline(str(tmp_path / "missing.csv"))


@pytest.mark.slow
def test_attribution_drift_compares_shap_rankings_of_captured_inputs(endpoint):
    """Window SHAP values come from a sandboxed subprocess (no credentials, no store URLs)."""
    from loopml.evaluate.explain import explain

    base = explain(endpoint, _numeric(400, 2), sample=200, class_index=1).global_importance
    monitor.create_monitoring_schedule(
        "attr", "ep", monitor_type="attribution_drift", interval_seconds=3600, thresholds={"ndcg": 0.9},
        settings={"baseline_attributions": base, "sample": 100})
    same = monitor.run_monitor("attr", window_start=T0, window_end=T0 + timedelta(hours=1),
                               records=records_for(_numeric(150, 3), T0))
    assert same.result == "ok" and same.metrics["ndcg"] > 0.9
    flipped = {k: (1.0 if k == "count" else 0.01) for k in base}
    monitor.create_monitoring_schedule(
        "attr2", "ep", monitor_type="attribution_drift", interval_seconds=3600,
        settings={"baseline_attributions": flipped, "sample": 100})
    drifted = monitor.run_monitor("attr2", window_start=T0, window_end=T0 + timedelta(hours=1),
                                  records=records_for(_numeric(150, 3), T0))
    assert drifted.result == "violations" and drifted.metrics["ndcg"] < 0.9
    tiny = monitor.run_monitor("attr", window_start=T0, window_end=T0 + timedelta(hours=1),
                               records=records_for(_numeric(3, 3), T0))
    assert tiny.result == "insufficient_data"
    assert np.isfinite(same.metrics["ndcg"])


@pytest.mark.slow
@pytest.mark.timeout(600)  # a real endpoint starts here: on a busy machine that alone can take minutes
def test_live_endpoint_metrics_feed_an_alarm_and_capture_feeds_a_monitor(endpoint, tmp_path):
    """A real endpoint with capture: invocations and p99 are sampled, captured rows are monitored."""
    import json as _json

    from loopml import serve
    from loopml.monitor import sample_endpoint_metrics

    serve.delete("ep")
    serve.create("ep2", "churn:1", capture_percent=100.0)
    try:
        rows = _numeric(20, 5).to_dict(orient="records")
        for row in rows:
            assert serve.invoke("ep2", _json.dumps({"instances": [row]}).encode()).status_code == 200
        figures = sample_endpoint_metrics("ep2")
        assert figures["invocations"] == 20 and figures["p99_latency_ms"] > 0 and figures["error_rate"] == 0
        monitor.put_alarm("slow", source="endpoint:ep2", metric="p99_latency_ms", threshold=0.0, period_seconds=60)
        (change,) = monitor.evaluate_alarms()
        assert change.new_state == "ALARM"
        serve.flush_capture("ep2")
        from loopml.monitor.advice import advise

        advice = advise("ep2", window="1h", target_ms=1000)  # the serving mode from this endpoint's own records
        assert advice["traffic"]["requests"] == 20 and advice["current_mode"] == "realtime"
        assert advice["inputs"]["service_ms"] == figures["p50_latency_ms"]
        assert advice["recommended"] in advice["modes"] and advice["reasons"]
        b = monitor.create_baseline(_numeric(500, 1))
        monitor.create_monitoring_schedule("dq", "ep2", statistics=b.statistics_digest,
                                           constraints=b.constraints_digest, interval_seconds=3600,
                                           settings={"min_rows": 10})
        ex = monitor.run_monitor("dq")
        assert ex.item_count == 20 and ex.status != "Failed", ex.message
        _approval_rolls_out(endpoint)
    finally:
        serve.stop_endpoint("ep2", timeout=10)


def _approval_rolls_out(model) -> None:
    """On approval (the registry emits the event), a rule rolls the new version out blue/green."""
    from loopml import events, registry, serve
    from loopml.models.signature import infer_signature

    events.put_rule("rollout-on-approval", {"detail-type": ["Model Version State Change"],
                                            "detail": {"state": ["Approved"], "group": ["churn"]}},
                    [{"type": "deploy", "endpoint": "ep2", "model": "$.detail.model"}], cooldown_seconds=0)
    version = registry.register(model, "churn", signature=infer_signature(_numeric(5, 1)), actor="alice",
                                description="challenger")
    registry.approve("churn", version.version, note="better", actor="bob")  # the registry emits the event
    (action,) = [a for a in events.process_events() if a.rule == "rollout-on-approval"]
    assert action.status == "SUCCEEDED", action.result
    variants = serve.get("ep2").variants
    assert [v["model"] for v in variants if not v.get("shadow")] == [f"churn:{version.version}"]


def test_baseline_from_a_datasets_and_a_model_versions_training_data(endpoint):
    from loopml import registry
    from loopml.data import register_dataset
    from loopml.models.signature import infer_signature

    train = make_frame(400, 1).assign(label=1)
    info = register_dataset("churn_train", train)
    from_dataset = monitor.create_baseline("churn_train@1", exclude=["label"])
    assert from_dataset.source == "dataset:churn_train@1" and from_dataset.features == ("amount", "count", "plan")
    version = registry.register(endpoint, "churn", signature=infer_signature(_numeric(5, 1)), actor="alice",
                                lineage={"datasets": [{"name": "churn_train", "version": info.version,
                                                       "sha256": info.sha256}]})
    from_model = monitor.create_baseline(f"model:churn:{version.version}")
    assert from_model.features == ("amount", "count") and from_model.item_count == 400
    with pytest.raises(NotFoundError, match="no training dataset"):
        monitor.create_baseline("model:churn:1")
