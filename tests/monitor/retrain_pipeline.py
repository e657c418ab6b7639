"""A tiny stand-in for the retraining pipeline, started by rules and pipeline schedules in the tests."""

from __future__ import annotations

from loopml.pipelines import pipeline, step


@step
def train(reason: str = "scheduled") -> dict:
    return {"model": "challenger", "reason": str(reason)}


@pipeline
def retrain(reason: str = "scheduled"):
    return train(reason=reason)
