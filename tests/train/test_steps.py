from __future__ import annotations

from loopml.pipelines import pipeline, run
from loopml.train import tracking
from loopml.train.steps import train_model


@pipeline
def churn_training(channel: str = "", max_depth: int = 3):
    train_model("xgboost", {"train": channel}, {"target": "churned", "max_depth": max_depth, "num_round": 5})


def test_training_is_a_pipeline_step(churn_file):
    info = run(churn_training, params={"channel": str(churn_file)}, executor="inline")
    assert info.status == "SUCCEEDED", info
    (trained,) = tracking.list_runs(kind="training")
    assert trained.status == "COMPLETED" and trained.params["max_depth"] == 3
