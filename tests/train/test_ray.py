"""Training jobs and tuning on a real multi-node Ray cluster, including the loss of a node (case 49)."""

from __future__ import annotations

import textwrap
import threading
import time
from pathlib import Path

import psutil
import pytest

from loopml.core import context
from loopml.core.work import list_work
from loopml.errors import ResourcesUnavailable
from loopml.train import jobs, tracking
from loopml.train.checkpoints import stored_checkpoints
from loopml.train.tuning import Categorical, Float, tune
from tests.train.test_tuning import CURVE

pytestmark = pytest.mark.ray
RESOURCES = Path(__file__).parent / "resources"


def test_a_job_runs_on_a_node_with_the_sagemaker_contract_unchanged(ray_cluster_env, churn_file: Path,
                                                                    home: Path) -> None:
    run = jobs.run(str(RESOURCES / "sagemaker_train.py"), channels={"train": churn_file},
                   hyperparameters={"C": 0.5}, resources={"cpus": 1}, stream=False)
    assert run.status == "COMPLETED", run.error
    work = [w for w in list_work() if w.ref == run.id]
    assert len(work) == 1 and work[0].kind == "job" and work[0].status == "DONE"
    assert run.environment["node"]["node_id"] == work[0].node_id
    local_model = home / "train" / run.id / "model"
    assert not local_model.exists() or not any(local_model.iterdir())  # the model came back by the store
    folder = jobs.fetch_model(run.id, home.parent / "model")
    assert (folder / "model.joblib").is_file()
    hps = context.get_artifacts().get_dir(run.outputs["output_data"], home.parent / "out") / "hps.json"
    assert hps.read_text() == '{"C": 0.5}'  # SM_HPS reached the script on its node; its output came back


def test_a_job_asking_for_a_gpu_no_node_has_is_refused_at_once(ray_cluster_env, churn_file: Path) -> None:
    started = time.monotonic()
    with pytest.raises(ResourcesUnavailable, match=r"the training job asks for GPU 1, which no node"):
        jobs.run(str(RESOURCES / "sagemaker_train.py"), channels={"train": churn_file}, resources={"gpus": 1},
                 stream=False)
    assert time.monotonic() - started < 60


def _node_of(run_id: str, deadline: float = 120) -> psutil.Process:
    """The raylet of the node running ``run_id``'s current attempt (the Ray worker's parent)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        running = [w for w in list_work(running_only=True) if w.ref == run_id]
        if running:
            raylet = psutil.Process(running[-1].pid).parent()
            assert raylet is not None and raylet.name() == "raylet"
            return raylet
        time.sleep(0.1)
    raise AssertionError(f"{run_id} never started on a node")


def _wait(condition, what: str, deadline: float = 120) -> None:
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_sigkill_of_the_raylet_under_a_checkpointing_job_resumes_it_on_another_node(
        ray_cluster_env, home: Path) -> None:
    """Case 49: the job restarts on the other node from its last checkpoint; compute and lost time recorded."""
    cluster = ray_cluster_env
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(run=jobs.run(
        str(RESOURCES / "checkpointing.py"), environment={"STEP_SECONDS": "0.3"}, stream=False)))
    thread.start()
    try:
        _wait(lambda: any(w.kind == "job" for w in list_work(running_only=True)), "the job to start")
        run_id = next(w.ref for w in list_work(running_only=True) if w.kind == "job")
        _wait(lambda: stored_checkpoints(run_id), "a sealed checkpoint")
        raylet = _node_of(run_id)
        lost = next(n for n in cluster.nodes if n.raylet_pid() == raylet.pid)
        cluster.kill_raylet(lost)
        thread.join(300)
        assert not thread.is_alive()
    finally:
        thread.join(300)
        cluster.replace_lost_nodes()
    run = result["run"]
    assert run.status == "COMPLETED", run.error
    assert run.statuses[:3] == ["STARTING", "TRAINING", "INTERRUPTED"] and run.statuses[-1] == "COMPLETED"
    assert "its node was lost" in next(h["reason"] for h in run.history if h["status"] == "INTERRUPTED")
    log = context.get_artifacts().get_bytes(run.logs_digest).decode()
    resumed_from = int(log.split("resuming from step ")[1].split()[0])
    assert resumed_from >= 5  # not from scratch: from the last checkpoint in the artifact store
    steps = [p.step for p in tracking.metric_history(run.id, "global_step")]
    assert steps[-1] == 39
    assert run.compute_seconds > 0 and 0 <= run.interrupted_seconds <= run.compute_seconds
    nodes = {w.node_id for w in list_work() if w.ref == run.id}
    assert len(nodes) == 2  # one attempt on the lost node, the rest on another




def test_tuning_trials_run_in_parallel_across_nodes_and_survive_a_lost_node(
        ray_cluster_env, home: Path, tmp_path: Path) -> None:
    cluster = ray_cluster_env
    script = tmp_path / "curve.py"
    script.write_text(textwrap.dedent(CURVE))
    space = {"x": Float(0.0, 4.0), "kind": Categorical(("good", "bad"))}
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(out=tune(
        space, objective="score", script=str(script), max_trials=6, max_parallel=8, sampler="random",
        pruner="median", seed=1)))
    thread.start()
    try:
        _wait(lambda: [w for w in list_work(running_only=True) if w.kind == "job"], "a trial to run", 300)
        running = [w for w in list_work(running_only=True) if w.kind == "job"]
        raylet = psutil.Process(running[0].pid).parent()  # a node loss in the middle of the study
        cluster.kill_raylet(next(n for n in cluster.nodes if n.raylet_pid() == raylet.pid))
        thread.join(600)
        assert not thread.is_alive()
    finally:
        thread.join(600)
        cluster.replace_lost_nodes()
    out = result["out"]
    assert len(out.trials) == 6 and out.best_run_id is not None
    assert {r["status"] for r in out.trials} <= {"COMPLETED", "STOPPED"}  # a lost node loses no trial
    parent = tracking.get_run(out.run_id)
    assert parent.params["max_parallel"] == 2  # bounded by the cluster's two CPUs
    trial_nodes = {w.node_id for w in list_work() if w.kind == "job"}
    assert len(trial_nodes) >= 2  # trials ran on more than one node
