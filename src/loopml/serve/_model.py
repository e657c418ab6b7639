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

    def __call__(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.predict(frame))


def sandbox_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a model-loading subprocess: this one minus anything that looks like a secret."""
    from loopml.models import sandbox_env as models_sandbox_env

    env = dict(models_sandbox_env())
    env.update(extra or {})
    return env


def load_folder(folder: str | Path, *, name: str, digest: str = "", version: str = "1",
                output: str = "predict") -> ServedModel:
    """Load a model folder saved by ``loopml.models.save`` (digest already verified by the caller).

    Args:
        folder: the verified local copy of the model folder.
        name: the name clients use for it (OIP ``/v2/models/{name}``, ``X-Target-Model``).
        digest: the registry digest, returned in ``X-Model-Digest``.
        version: the version label reported by OIP metadata.
        output: ``predict`` or ``predict_proba``.
    """
    from loopml import models

    loaded = models.load(Path(folder))
    signature = loaded.signature.to_dict() if hasattr(loaded.signature, "to_dict") else loaded.signature
    columns = parse_signature(signature)
    # The server has already checked and typed the frame against the same signature; for all-numeric
    # signatures the flavor's model is called directly instead of validating a second time.
    target = loaded.model if columns and all(c.kind in ("double", "long", "boolean") for c in columns) else loaded
    predict = target.predict_proba if output == "predict_proba" else target.predict
    return ServedModel(name=name, predict=predict, columns=columns,
                       digest=digest or str(getattr(loaded, "digest", "")), flavor=str(loaded.flavor),
                       version=version)


def from_estimator(estimator: Any, columns: tuple[Column, ...] | dict[str, Any] | list[Any], *,
                   name: str = "model", digest: str = "", version: str = "1") -> ServedModel:
    """Wrap an in-memory estimator (anything with ``predict(frame)``) for in-process serving and tests."""
    cols = columns if isinstance(columns, tuple) else parse_signature(columns)
    return ServedModel(name=name, predict=estimator.predict, columns=cols, digest=digest,
                       flavor=type(estimator).__module__.split(".")[0], version=version)

