"""Training and tuning as pipeline steps.

Example::

    from loopml.pipelines import pipeline
    from loopml.train.steps import train_model, tune_model

    @pipeline
    def churn(max_depth: int = 6):
        trained = train_model("xgboost", {"train": "churn"}, {"target": "churned", "max_depth": max_depth})
"""

from __future__ import annotations

from typing import Any

from loopml.pipelines import step


@step(name="train_model", cache=True)
def train_model(algorithm: str, channels: dict[str, Any], hyperparameters: dict[str, Any],
                experiment: str = "pipelines") -> dict[str, Any]:
    """Run a built-in training job; outputs ``{"run_id", "model_digest", "metrics"}`` (raises on failure)."""
    from loopml.train import jobs

    run = jobs.run(algorithm=algorithm, channels=channels, hyperparameters=hyperparameters, experiment=experiment,
                   stream=True, raise_on_failure=True)
    if run.status != "COMPLETED":
        raise jobs.JobFailed(f"training run {run.id} ended {run.status}: {run.status_reason}", run_id=run.id)
    return {"run_id": run.id, "model_digest": run.model_digest, "metrics": dict(run.metrics)}


@step(name="tune_model", cache=True)
def tune_model(algorithm: str, channels: dict[str, Any], hyperparameters: dict[str, Any], space: dict[str, Any],
               objective: str, max_trials: int = 10, max_parallel: int = 1,
               experiment: str = "pipelines") -> dict[str, Any]:
    """Tune a built-in; ``space`` maps names to ``["int", lo, hi]``, ``["float", lo, hi, "log"?]`` or
    ``["cat", a, b, …]``. Outputs ``{"run_id", "best_run_id", "best_value", "best_params", "model_digest"}``."""
    from loopml.train.tuning import tune

    result = tune(_space(space), objective=objective, algorithm=algorithm, channels=channels,
                  hyperparameters=hyperparameters, max_trials=max_trials, max_parallel=max_parallel,
                  experiment=experiment)
    return {"run_id": result.run_id, "best_run_id": result.best_run_id, "best_value": result.best_value,
            "best_params": result.best_params, "model_digest": result.best_model_digest}


def _space(spec: dict[str, Any]) -> dict[str, Any]:
    from loopml.train.tuning import Categorical, Float, Int

    out: dict[str, Any] = {}
    for name, (kind, *args) in spec.items():
        if kind == "int":
            out[name] = Int(int(args[0]), int(args[1]), log="log" in args[2:])
        elif kind == "float":
            out[name] = Float(float(args[0]), float(args[1]), log="log" in args[2:])
        else:
            out[name] = Categorical(tuple(args))
    return out
