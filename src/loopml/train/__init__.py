"""Training: jobs (scripts or built-in algorithms), checkpoint/resume, tuning and experiment tracking.

- :func:`run` / :func:`resume`: a training job as a tracked subprocess with the SageMaker script-mode
  contract, managed-spot-style checkpoints, and automatic restart after interruptions.
- :func:`tune`: hyperparameter search on Optuna (TPE, random, grid; median or Hyperband pruning), its
  study stored in the metadata database so several processes share it.
- :func:`create_run`, :func:`log_metrics`, :func:`search_runs`…: experiments, runs and metric series.
- :func:`log_metric` (the in-job SDK): buffered metric logging from inside a training script.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "run": "loopml.train.jobs",
    "resume": "loopml.train.jobs",
    "interrupt": "loopml.train.jobs",
    "job_pid": "loopml.train.jobs",
    "fetch_model": "loopml.train.jobs",
    "JobFailed": "loopml.train.jobs",
    "tune": "loopml.train.tuning",
    "TuningResult": "loopml.train.tuning",
    "Int": "loopml.train.tuning",
    "Float": "loopml.train.tuning",
    "Categorical": "loopml.train.tuning",
    "create_run": "loopml.train.tracking",
    "get_run": "loopml.train.tracking",
    "list_runs": "loopml.train.tracking",
    "search_runs": "loopml.train.tracking",
    "compare_runs": "loopml.train.tracking",
    "metric_history": "loopml.train.tracking",
    "log_metrics": "loopml.train.tracking",
    "log_params": "loopml.train.tracking",
    "set_tags": "loopml.train.tracking",
    "start_run": "loopml.train.tracking",
    "log_metric": "loopml.train.sdk",
    "log_param": "loopml.train.sdk",
    "flush": "loopml.train.sdk",
    "Run": "loopml.train._records",
    "MetricPoint": "loopml.train._records",
    "Experiment": "loopml.train._records",
    "ALGORITHMS": "loopml.train.algorithms",
    "CheckpointStore": "loopml.train.checkpoints",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'loopml.train' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
