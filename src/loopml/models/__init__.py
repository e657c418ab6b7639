"""The loopml model format: save a model to a folder, load it back safely.

A model folder holds the model in its framework's own safe format (skops for scikit-learn, UBJSON for
XGBoost, text for LightGBM, a single ONNX file) plus ``loopml-model.json``: the flavor, framework and
Python versions, the input signature, the output (class labels or regression), every file's sha256 and
the folder digest. Loading verifies every hash before any byte is deserialised and refuses formats that
can run code (pickles) unless the caller trusts the file.

Example:
    >>> import pandas as pd, tempfile, pathlib
    >>> from sklearn.linear_model import LogisticRegression
    >>> from loopml import models
    >>> X = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
    >>> folder = pathlib.Path(tempfile.mkdtemp()) / "clf"
    >>> info = models.save(LogisticRegression().fit(X, [0, 0, 1, 1]), folder, input_example=X)
    >>> loaded = models.load(folder)
    >>> loaded.flavor, loaded.classes_.tolist()
    ('sklearn', [0, 1])
"""

from __future__ import annotations

from loopml.models._flavors import FLAVORS
from loopml.models._script import save_script
from loopml.models.folder import check, copy_folder, deserialization_count, load, save
from loopml.models.loaded import LoadedClassifier, LoadedModel
from loopml.models.manifest import MANIFEST, ModelInfo, OutputSpec, folder_digest, read_info
from loopml.models.safety import (
    PICKLE_FAMILY,
    SAFE_GLOBALS,
    PickleGlobal,
    PickleReport,
    detect_format,
    limit_resources,
    pickle_report,
    sandbox_env,
    scan_pickle,
)
from loopml.models.signature import ColumnSpec, Signature, infer_signature

__all__ = [
    "FLAVORS", "MANIFEST", "PICKLE_FAMILY", "SAFE_GLOBALS", "ColumnSpec", "LoadedClassifier", "LoadedModel",
    "ModelInfo", "OutputSpec", "PickleGlobal", "PickleReport", "Signature", "check", "copy_folder", "deserialization_count",
    "detect_format",
    "folder_digest", "infer_signature", "limit_resources", "load", "pickle_report", "read_info", "sandbox_env", "save",
    "save_script", "scan_pickle",
]
