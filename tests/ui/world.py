"""A loopml home with something on every page of the UI: two executions of a small loop (the second one gated
against the first model, approved meanwhile), a failed execution, a tuning study, a built-in training job, a
rejected version, a monitoring schedule with violations over four windows, a firing alarm and its rule, an
endpoint serving the approved model with sampled traffic, and one user per role.

The world is built once per test session into a template home (a lock keeps xdist workers from building it
twice) and copied for each module that uses it; the endpoint process is started in each copy.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.api.conftest import make_users, tiny_model
from tests.monitor.capture_helpers import records_for

LOOP = "tests.ui.resources.loop:churn_small"
T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
FEATURES = ["tenure_months", "monthly_charges", "support_calls", "usage_hours"]


def build(home: Path) -> dict[str, str]:
    """Fill ``home``; returns the users' tokens and the ids the tests visit."""
    from loopml import registry
    from loopml.pipelines import run

    secrets = make_users(home)
    first = run(LOOP, executor="inline")
    registry.approve("churn", 1, note="first model, reviewed", actor="ann")
    second = run(LOOP, params={"seed": 1}, executor="inline")
    assert second.step("register").status == "SUCCEEDED", [(s.step, s.status, s.error) for s in second.steps]
    failed = run(LOOP, params={"alpha": -1.0}, executor="inline")
    registry.register(tiny_model(3.0), "churn", metrics={"roc_auc": 0.55}, description="a quick experiment",
                      actor="tess")
    registry.reject("churn", 3, note="worse than the champion", actor="ann")
    return secrets | {"execution": second.id, "first_execution": first.id, "failed_execution": failed.id,
                      "tuning": _tuning(), "job": _job(), "monitoring": _monitoring()} | _alarm()


ENDPOINT = "churn-live"


def _endpoint() -> dict[str, str]:
    """The approved model served (a real endpoint process), with traffic sampled each minute for 5 minutes."""
    import json

    from loopml import data, serve
    from loopml.core import clock
    from loopml.monitor import metric_alarms

    serve.create(ENDPOINT, "churn:1")
    rows = data.load_dataset("customers", 1)[FEATURES].head(50).to_dict(orient="records")
    start = clock.now() - timedelta(minutes=6)
    for minute in range(5):
        for row in rows[:4 + 2 * minute]:
            assert serve.invoke(ENDPOINT, json.dumps({"instances": [row]}).encode()).status_code == 200
        metric_alarms.sample_endpoint_metrics(ENDPOINT, now=start + timedelta(minutes=minute))
    return {"endpoint": ENDPOINT, "sampled_at": (start + timedelta(minutes=4)).isoformat()}


def stop_endpoint() -> None:
    """Stop the world's endpoint process (it stays defined)."""
    from loopml import serve
    from loopml.errors import NotFoundError

    try:
        serve.stop_endpoint(ENDPOINT, timeout=15)
    except NotFoundError:
        pass


def _job() -> str:
    """A built-in training job (a real subprocess): dataset channels, metric series, a model folder, logs."""
    from loopml import data, train

    data.register_dataset("churn_train", data.load_dataset("customers", 1)[[*FEATURES, "churned"]],
                          description="numeric features and the label")
    data.register_dataset("churn_valid", data.load_dataset("customers", 2)[[*FEATURES, "churned"]],
                          description="held out: another batch of customers")
    run = train.run(algorithm="xgboost", channels={"train": "churn_train", "validation": "churn_valid"},
                    hyperparameters={"target": "churned", "num_round": 8, "max_depth": 3}, experiment="churn",
                    name="xgb-built-in", stream=False)
    assert run.status == "COMPLETED", run.error
    return run.id


def _tuning() -> str:
    """A tuning study with four trials, each logging a loss curve and the objective."""
    from loopml import train

    parent = train.create_run("churn", kind="tuning", name="tune-alpha", status="COMPLETED",
                              params={"objective": "validation:auc", "direction": "maximize", "max_trials": 4})
    for i, (alpha, penalty) in enumerate(((1e-4, "l2"), (1e-3, "l2"), (1e-2, "l1"), (1e-1, "l1"))):
        trial = train.create_run("churn", kind="training", name=f"trial-{i}", params={"alpha": alpha, "penalty": penalty},
                                 parent_id=parent.id, status="COMPLETED")
        for step in range(10):
            train.log_metrics(trial.id, {"train:loss": 0.7 / (step + 1 + i) + 0.3}, step=step)
        train.log_metrics(trial.id, {"validation:auc": 0.8544 + 0.002 * i}, step=10)
    train.log_metrics(parent.id, {"validation:auc": 0.8604}, step=0)
    return parent.id


def _monitoring() -> str:
    """A data-quality schedule on churn-live with four hourly windows, drifting more each hour."""
    from loopml import data, monitor
    from loopml.demo.churn_data import make_churn

    reference = data.load_dataset("customers", 1)[FEATURES]
    baseline = monitor.create_baseline(reference)
    monitor.create_monitoring_schedule("churn-quality", "churn-live", statistics=baseline.statistics_digest,
                                       constraints=baseline.constraints_digest, interval_seconds=3600,
                                       check_signature=False)
    last = ""
    for hour in range(4):
        window = make_churn(300, seed=10 + hour, drift=hour * 0.5)[FEATURES]
        start = T0 + timedelta(hours=hour)
        ex = monitor.run_monitor("churn-quality", window_start=start, window_end=start + timedelta(hours=1),
                                 records=records_for(window, start, spacing=5.0))
        last = ex.id
    return last


def _alarm() -> dict[str, str]:
    """A drift alarm that fires, and a rule that logs a retraining request for it."""
    from loopml import events, monitor

    events.put_rule("retrain-on-drift", {"detail-type": ["Alarm State Change"]}, [{"type": "log"}])
    monitor.put_alarm("churn-drift", source="endpoint:churn-live", metric="feature_baseline_drift_support_calls",
                      threshold=0.2)
    monitor.put_metric("endpoint:churn-live", "feature_baseline_drift_support_calls", 0.35)
    monitor.evaluate_alarms()
    events.process_events()
    return {"alarm": "churn-drift", "rule": "retrain-on-drift"}


@contextlib.contextmanager
def _home_env(home: Path) -> Iterator[None]:
    """``LOOPML_HOME`` set to ``home`` (acting as ``dana``) for the duration, every store setting restored after."""
    from loopml.config import reset_settings

    keys = ("LOOPML_HOME", "LOOPML_USER", "LOOPML_DB", "LOOPML_ARTIFACTS", "LOOPML_ONLINE", "LOOPML_CAPTURE")
    saved = {k: os.environ.get(k) for k in keys}
    for key in keys:
        os.environ.pop(key, None)
    os.environ.update(LOOPML_HOME=str(home), LOOPML_USER="dana")
    reset_settings()
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        reset_settings()


def _template(tmp_path_factory) -> Path:  # noqa: ANN001
    """The built world, once per session (shared by the xdist workers of one run)."""
    base = tmp_path_factory.getbasetemp()
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "ui-world-template"
    root.mkdir(exist_ok=True)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / "world.json").exists():
            with _home_env(root / "loopml-home"):
                ids = build(root / "loopml-home")
                from loopml.core import context

                # close this process's connections now: SQLite folds and deletes its -wal and -shm files
                # when the last one closes, which must not happen while a worker copies the home
                context.reset()
            (root / "world.json").write_text(json.dumps(ids))
    return root


def served_home(tmp_path_factory):  # noqa: ANN001, ANN201
    """A generator for a module-scoped fixture: a copy of the world in a fresh home, its endpoint running."""
    template = _template(tmp_path_factory)
    home = tmp_path_factory.mktemp("ui-world") / "loopml-home"
    shutil.copytree(template / "loopml-home", home)
    ids = json.loads((template / "world.json").read_text())
    with _home_env(home):
        try:
            yield home, ids | _endpoint()
        finally:
            stop_endpoint()
