"""The model a replica serves: a predict function, its signature, its digest, and how it is loaded.

Model bytes are deserialized only here, in a replica or transform-worker process that was started with
:func:`sandbox_env` (no credentials), from a folder the endpoint process fetched and verified first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from loopml.serve._signature import Column, parse_signature


@dataclass(frozen=True)
class ServedModel:
    """A loaded model as the server sees it (read-only)."""

    name: str
    predict: Callable[[pd.DataFrame], Any]
    columns: tuple[Column, ...]
    digest: str = ""
    flavor: str = "unknown"
    version: str = "1"
    extra: dict[str, Any] = field(default_factory=dict)
    predict_array: Callable[[np.ndarray], Any] | None = None

    def __call__(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.predict(frame))


def sandbox_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a model-loading subprocess: this one minus anything that looks like a secret."""
    from loopml.models import sandbox_env as models_sandbox_env

    env = dict(models_sandbox_env())
    env.update(extra or {})
    return env


def load_folder(folder: str | Path, *, name: str, digest: str = "", version: str = "1",
                output: str = "predict", trust: bool = False) -> ServedModel:
    """Load a model folder saved by ``loopml.models.save`` (digest already verified by the caller).

    Args:
        folder: the verified local copy of the model folder.
        name: the name clients use for it (OIP ``/v2/models/{name}``, ``X-Target-Model``).
        digest: the registry digest, returned in ``X-Model-Digest``.
        version: the version label reported by OIP metadata.
        output: ``predict`` or ``predict_proba``.
        trust: the registry recorded that someone vouched for this version's code (``version.runs_code``).
            A SageMaker script-mode model then answers ``/invocations`` through its own handlers
            (``extra["invoke"]``: body, content type, Accept, and the keywords ``custom_attributes`` and
            ``inference_id`` -> body, content type).
    """
    from loopml import models

    loaded = models.load(Path(folder), trust=trust)
    signature = loaded.signature.to_dict() if loaded.signature is not None else None
    columns = parse_signature(signature)
    # The server has already checked and typed the frame against the same signature; for all-numeric
    # signatures the flavor's model is called directly instead of validating a second time.
    target = loaded.model if columns and all(c.kind in ("double", "long", "boolean") for c in columns) else loaded
    method = "predict_proba" if output == "predict_proba" else "predict"
    predict = getattr(target, method)
    invoke = getattr(loaded.model, "invoke", None)
    extra: dict[str, Any] = {"invoke": invoke} if invoke is not None else {}
    if output != "predict_proba" and hasattr(target, "predict_proba"):  # asked for per request (serve._outputs)
        extra["predict_proba"] = target.predict_proba
        classes = getattr(loaded.model, "classes_", None)
        extra["classes"] = list(classes) if classes is not None else None
    return ServedModel(name=name, predict=predict, columns=columns,
                       digest=digest or str(getattr(loaded, "digest", "")), flavor=str(loaded.flavor),
                       version=version, extra=extra,
                       predict_array=array_predict(target, method, columns) if target is not loaded else None)


def array_predict(estimator: Any, method: str, columns: tuple[Column, ...]) -> Callable[[np.ndarray], Any] | None:
    """``estimator.method`` called on the float64 block itself, when that answers exactly as the frame does.

    A scikit-learn estimator given a one-row DataFrame spends most of its time checking the frame (dtypes,
    feature names through pandas) — work the server has already done against the signature. For an
    all-``double`` signature whose names are the estimator's own fitted feature names, in order, a shallow
    copy without ``feature_names_in_`` takes the block directly (no per-call warning). Used only if it
    predicts the same values as the frame path on sample rows without raising or warning; else None.
    """
    import copy
    import warnings

    names = [c.name for c in columns]
    if not names or any(c.kind != "double" for c in columns):
        return None
    try:
        fast = copy.copy(estimator)
        fitted = getattr(estimator, "feature_names_in_", None)
        if fitted is not None:
            if [str(n) for n in fitted] != names:
                return None
            del fast.feature_names_in_
        sample = pd.DataFrame(np.random.default_rng(0).normal(size=(8, len(names))), columns=names)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            same = np.array_equal(np.asarray(getattr(fast, method)(sample.to_numpy())),
                                  np.asarray(getattr(estimator, method)(sample)))
        return getattr(fast, method) if same and not caught else None
    except Exception:  # noqa: BLE001 - any doubt keeps the frame path
        return None


def from_estimator(estimator: Any, columns: tuple[Column, ...] | dict[str, Any] | list[Any], *,
                   name: str = "model", digest: str = "", version: str = "1") -> ServedModel:
    """Wrap an in-memory estimator (anything with ``predict(frame)``) for in-process serving and tests."""
    cols = columns if isinstance(columns, tuple) else parse_signature(columns)
    return ServedModel(name=name, predict=estimator.predict, columns=cols, digest=digest,
                       flavor=type(estimator).__module__.split(".")[0], version=version)

