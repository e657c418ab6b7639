"""RELIABILITY.md §3 cases 5, 6 and 7: kill and resume, torn checkpoints, graceful interruption, max_wait."""

from __future__ import annotations

import hashlib
import random
import threading
import time
from pathlib import Path

import pytest

from loopml.core import context, faults, leases
from loopml.train import jobs, tracking
from loopml.train.checkpoints import CheckpointStore, stored_checkpoints

LINEAR = {"target": "churned", "epochs": 200, "checkpoint_every": 20, "mini_batch_size": 200, "seed": 3}


def _weights(run_id: str, tmp_path: Path) -> str:
    folder = jobs.fetch_model(run_id, tmp_path / f"model-{run_id}")
    import skops.io

    model_file = next(folder.glob("*.skops"), None)
    if model_file is None:  # the loopml.models format
        return tracking.get_run(run_id).model_digest or ""
    model = skops.io.load(model_file, trusted=skops.io.get_untrusted_types(file=model_file))
    return hashlib.sha256(model.coef_.tobytes() + model.intercept_.tobytes()).hexdigest()


def _arm(monkeypatch: pytest.MonkeyPatch, spec: str | None) -> None:
    if spec:
        monkeypatch.setenv("LOOPML_FAULTS", spec)
    else:
        monkeypatch.delenv("LOOPML_FAULTS", raising=False)
    faults.reset()


@pytest.mark.slow
def test_case5_kill_at_a_random_step_then_resume_is_bitwise_identical(churn_file, tmp_path, monkeypatch):
    clean = jobs.run(algorithm="linear-learner", channels={"train": churn_file}, hyperparameters=LINEAR,
                     stream=False)
    kill_at = random.Random().randint(50, 150)
    _arm(monkeypatch, f"train_epoch:kill@{kill_at}")
    killed = jobs.run(algorithm="linear-learner", channels={"train": churn_file}, hyperparameters=LINEAR,
                      interruptible=True, stream=False)
    assert killed.status == "INTERRUPTED"
    last_sealed = stored_checkpoints(killed.id)[0][0]
    assert kill_at - last_sealed <= 20

    _arm(monkeypatch, None)
    resumed = jobs.resume(killed.id, stream=False)
    assert resumed.status == "COMPLETED", resumed.error
    assert _weights(resumed.id, tmp_path) == _weights(clean.id, tmp_path)
    log = context.get_artifacts().get_bytes(resumed.logs_digest).decode()
    assert f"resuming from checkpoint at step {last_sealed}" in log
    steps = [p.step for p in tracking.metric_history(resumed.id, "global_step")]
    assert steps == sorted(steps) and steps[-1] == 200
    assert resumed.interrupted_seconds > 0 and resumed.compute_seconds > resumed.interrupted_seconds
    assert resumed.statuses == ["STARTING", "TRAINING", "INTERRUPTED", "STARTING", "TRAINING", "COMPLETED"]


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["checkpoint_mid_write:kill@3", "checkpoint_before_manifest:kill@3"])
def test_case6_torn_checkpoints_are_ignored_and_cleaned(churn_file, monkeypatch, fault):
    _arm(monkeypatch, fault)
    killed = jobs.run(algorithm="linear-learner", channels={"train": churn_file}, hyperparameters=LINEAR,
                      stream=False)
    assert killed.status == "INTERRUPTED"
    folder = context.get_settings().home / "train" / killed.id / "checkpoints"
    assert any(p.name.startswith("ckpt-00000060") for p in folder.iterdir())  # the torn one is there
    assert [s for s, _ in stored_checkpoints(killed.id)] == [40, 20]

    _arm(monkeypatch, None)
    resumed = jobs.resume(killed.id, stream=False)
    assert resumed.status == "COMPLETED", resumed.error
    log = context.get_artifacts().get_bytes(resumed.logs_digest).decode()
    assert "resuming from checkpoint at step 40" in log
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_loader_skips_a_checkpoint_whose_bytes_do_not_match_its_manifest(home, tmp_path):
    store = CheckpointStore(tmp_path / "ck")
    store.save(10, b"ten")
    store.save(20, b"twenty")
    (tmp_path / "ck" / "ckpt-00000020.bin").write_bytes(b"tampered")
    (tmp_path / "ck" / "ckpt-00000030.bin.tmp").write_bytes(b"half")
    assert store.clean() == ["ckpt-00000030.bin.tmp"]
    found = store.latest()
    assert found is not None and (found.step, found.data) == (10, b"ten")


@pytest.mark.slow
def test_case7_sigterm_checkpoints_interrupts_and_restarts_to_completion(churn_file, monkeypatch):
    monkeypatch.setenv("LOOPML_FAULT_SLEEP", "0.05")
    _arm(monkeypatch, None)
    hps = {**LINEAR, "epochs": 400}
    result: dict[str, object] = {}

    def train() -> None:
        result["run"] = jobs.run(algorithm="linear-learner", channels={"train": churn_file}, hyperparameters=hps,
                                 interruptible=True, max_restarts=1, stop_grace=2.0, stream=False)

    thread = threading.Thread(target=train)
    thread.start()
    run_id = _wait_for(lambda: next(iter(tracking.list_runs()), None))
    _wait_for(lambda: stored_checkpoints(run_id.id) or None)
    assert jobs.interrupt(run_id.id)
    thread.join(timeout=120)
    run = result["run"]
    assert run.status == "COMPLETED", run.error
    assert run.statuses == ["STARTING", "TRAINING", "INTERRUPTED", "STARTING", "TRAINING", "COMPLETED"]
    assert run.attempts == 2


def test_case7_max_wait_stops_a_job_that_gets_no_capacity(home, tmp_path, monkeypatch):
    monkeypatch.setenv("LOOPML_TRAIN_SLOTS", "1")
    with context.get_db().write() as conn:
        assert leases.acquire(conn, jobs.SLOT_PREFIX + "0", "someone-else", ttl=60)
    script = tmp_path / "noop.py"
    script.write_text("print('never runs')\n")
    started = time.monotonic()
    run = jobs.run(script, max_runtime=1, max_wait=3, stream=False)
    assert run.status == "STOPPED" and run.status_reason == "MaxWaitTimeExceeded"
    assert 2.5 < time.monotonic() - started < 10
    assert run.statuses == ["STARTING", "STOPPED"]


def _wait_for(probe, timeout: float = 60.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


@pytest.mark.slow
@pytest.mark.parametrize("algorithm", ["xgboost", "lightgbm"])
def test_boosted_trees_resume_to_the_same_model_bytes(churn_file, monkeypatch, algorithm):
    hps = {"target": "churned", "num_round": 30, "checkpoint_every": 10}
    clean = jobs.run(algorithm=algorithm, channels={"train": churn_file}, hyperparameters=hps, stream=False)
    _arm(monkeypatch, "train_epoch:kill@2")
    killed = jobs.run(algorithm=algorithm, channels={"train": churn_file}, hyperparameters=hps, stream=False)
    assert killed.status == "INTERRUPTED"
    _arm(monkeypatch, None)
    resumed = jobs.resume(killed.id, stream=False)
    assert resumed.status == "COMPLETED", resumed.error
    assert resumed.model_digest == clean.model_digest
