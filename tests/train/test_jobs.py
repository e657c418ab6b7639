from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from loopml.errors import NotFoundError, ValidationError
from loopml.train import jobs, tracking

from .conftest import churn_frame

RESOURCES = Path(__file__).parent / "resources"


def _script(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "job.py"
    path.write_text(textwrap.dedent(body))
    return path


def test_a_sagemaker_script_mode_script_runs_unchanged(churn_file):
    run = jobs.run(RESOURCES / "sagemaker_train.py", channels={"train": churn_file},
                   hyperparameters={"C": 0.5, "max-iter": 200}, stream=False,
                   metric_definitions=[{"Name": "train:accuracy", "Regex": r"train_accuracy=([0-9.]+)"}])
    assert run.status == "COMPLETED", run.error
    assert run.statuses == ["STARTING", "TRAINING", "COMPLETED"]
    assert [p.step for p in tracking.metric_history(run.id, "train:accuracy")] == [0, 1, 2]
    assert run.model_digest and run.outputs["output_data"]
    assert run.inputs["train"]["sha256"].startswith("sha256:")
    assert run.code["script_sha256"].startswith("sha256:") and run.environment["packages"]["scikit-learn"]
    assert run.logs_digest


def test_sdk_metrics_and_loopml_env_reach_the_run(home, tmp_path):
    script = _script(tmp_path, """
        import json, os
        from loopml.train import sdk
        for step in range(50):
            sdk.log_metric("loss", 1.0 / (step + 1))
        assert os.environ["LOOPML_MODEL_DIR"] == os.environ["SM_MODEL_DIR"]
        assert json.load(open(os.environ["SM_INPUT_CONFIG_DIR"] + "/hyperparameters.json")) == {"lr": "0.1"}
        print("seed", os.environ["LOOPML_SEED"])
    """)
    run = jobs.run(script, hyperparameters={"lr": 0.1}, seed=7, stream=False)
    assert run.status == "COMPLETED", run.error
    assert run.seed == 7 and run.metrics["loss"] == pytest.approx(1 / 50)
    assert len(tracking.metric_history(run.id, "loss")) == 50


def test_a_failing_script_fails_the_run_with_the_end_of_its_log(home, tmp_path):
    script = _script(tmp_path, """
        print("loading data")
        raise SystemExit("column 'churned' missing")
    """)
    run = jobs.run(script, stream=False)
    assert run.status == "FAILED"
    assert "exited with code 1" in run.error and "column 'churned' missing" in run.error
    with pytest.raises(jobs.JobFailed, match="churned"):
        jobs.run(script, stream=False, raise_on_failure=True)


def test_exceeding_max_runtime_stops_the_run(home, tmp_path):
    script = _script(tmp_path, "import time\nprint('working', flush=True)\ntime.sleep(60)\n")
    run = jobs.run(script, max_runtime=1.0, stop_grace=1.0, stream=False)
    assert run.status == "STOPPED" and run.status_reason == "MaxRuntimeExceeded"
    assert run.compute_seconds < 10


def test_bad_channels_and_arguments_fail_before_anything_starts(home, tmp_path):
    with pytest.raises(NotFoundError, match="neither a registered dataset nor an existing file"):
        jobs.run(algorithm="xgboost", channels={"train": "no_such_dataset"}, hyperparameters={"target": "y"})
    with pytest.raises(ValidationError, match="max_wait .* must be greater than max_runtime"):
        jobs.run(algorithm="xgboost", channels={"train": tmp_path}, hyperparameters={"target": "y"},
                 max_runtime=10, max_wait=5)
    with pytest.raises(ValidationError, match="unknown hyperparameter"):
        jobs.run(algorithm="xgboost", hyperparameters={"target": "y", "depth": 3})
    with pytest.raises(ValidationError, match="needs a 'train' channel"):
        jobs.run(algorithm="xgboost", hyperparameters={"target": "y"})
    assert tracking.list_runs() == []


def test_builtin_xgboost_on_a_catalog_dataset(home):
    from loopml.data import register_dataset

    version = register_dataset("churn", churn_frame())
    run = jobs.run(algorithm="xgboost", channels={"train": "churn", "validation": "churn@1"},
                   hyperparameters={"target": "churned", "num_round": 12, "checkpoint_every": 5}, stream=False)
    assert run.status == "COMPLETED", run.error
    assert run.inputs["train"] == {"type": "dataset", "name": "churn", "version": 1, "sha256": version.sha256,
                                   "file": "data.parquet"}
    assert 0.5 < run.metrics["validation:auc"] <= 1.0
    assert len(tracking.metric_history(run.id, "train:logloss")) == 12
    assert run.outputs["flavor"]


@pytest.mark.slow
@pytest.mark.parametrize("algorithm,hps", [
    ("lightgbm", {"num_round": 5}), ("random_forest", {"n_estimators": 5}), ("hist_gradient_boosting", {}),
    ("logistic_regression", {}), ("linear-learner", {"epochs": 3}), ("kmeans", {"k": 3, "target": ""}),
])
def test_every_builtin_trains_with_no_user_code(churn_file, algorithm, hps):
    run = jobs.run(algorithm=algorithm, channels={"train": churn_file},
                   hyperparameters={"target": "churned", **hps}, stream=False)
    assert run.status == "COMPLETED", run.error
    assert run.model_digest


def test_regression_task_reports_rmse(churn_file):
    run = jobs.run(algorithm="linear_regression", channels={"train": churn_file},
                   hyperparameters={"target": "monthly_charges"}, stream=False)
    assert run.status == "COMPLETED", run.error
    assert run.metrics["train:rmse"] > 0
