"""The ``pyfunc`` flavor: any object with ``predict(df)``, stored with :mod:`pickle`.

A pickle runs code when read, so loading needs ``trust=True``; even then the stream is scanned first and
refused if it imports anything outside the model's own package and the numeric stack.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path
from typing import Any

from loopml.models._flavors import Saved, output_of
from loopml.models.manifest import ModelInfo
from loopml.models.safety import SAFE_GLOBALS, scan_pickle

FILE_FORMAT = "pickle"
MODEL_FILE = "model.pkl"
RUNS_CODE = True
WHAT_RUNS = "a pickle of {info.model_class!r}"
_STACK = ("numpy.*", "pandas.*", "sklearn.*", "scipy.*", "xgboost.*", "lightgbm.*", "skops.*")


def handles(model: Any) -> bool:
    """True for any object with a callable ``predict``."""
    return callable(getattr(model, "predict", None))


def save(model: Any, folder: Path) -> Saved:
    """Pickle ``model`` (protocol 5)."""
    (folder / MODEL_FILE).write_bytes(pickle.dumps(model, protocol=5))
    version = f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"
    return Saved(MODEL_FILE, "python", version, output_of(model))


def allowed_globals(model_class: str) -> set[str]:
    """What a trusted pyfunc pickle may import: its own top-level package, the numeric stack, safe builtins."""
    package = model_class.split(".")[0]
    return {*SAFE_GLOBALS, *_STACK, f"{package}.*"}


def inspect(data: bytes, info: ModelInfo, *, trust: bool) -> None:
    """Scan the pickle's imports (the caller has already required ``trust``)."""
    scan_pickle(data, allowed=allowed_globals(info.model_class))


def load(data: bytes, info: ModelInfo, *, trust: bool) -> Any:
    """Unpickle verified, scanned bytes."""
    return pickle.loads(data)  # noqa: S301 - trusted by the caller and scanned above
