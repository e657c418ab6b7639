"""loopml — the governed ML loop (prepare, train, evaluate, deploy, monitor, retrain) on one laptop,
scaling out to PostgreSQL, S3 and Redis.

Vocabulary:
    pipeline   a DAG of steps defined by a ``@pipeline`` function; each run is an *execution*.
    step       a ``@step`` function; its output is stored as an artifact and can be cached.
    run        one recorded unit of work (a step execution, a training job, an evaluation).
    artifact   bytes named by their sha256 (``sha256:<hex>``) in the content-addressed store.
    model      a model group; each registered model is a *version* with an approval status.
    feature group, endpoint, monitor: see their stages.

Names are loaded lazily, so ``import loopml`` is cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "step": "loopml.pipelines",
    "pipeline": "loopml.pipelines",
    "when": "loopml.pipelines",
    "run": "loopml.pipelines",
    "resume": "loopml.pipelines",
    "LoopmlError": "loopml.errors",
    "reproduce": "loopml.reproducibility",
    "log_metric": "loopml.train.sdk",
    "log_metrics": "loopml.train.sdk",
    "log_param": "loopml.train.sdk",
}

_SUBPACKAGES = ("core", "data", "evaluate", "events", "features", "models", "monitor", "pipelines", "registry",
                "serve", "train")

__all__ = sorted([*_EXPORTS, *_SUBPACKAGES, "__version__"])


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return importlib.import_module(f"loopml.{name}")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'loopml' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
