"""How step outputs become artifacts, chosen by type.

pandas DataFrame → Parquet, numpy array → ``.npy``, dict/list/str/number/bool/None → JSON, a fitted model
→ the loopml model format (a folder). Anything else is refused with the step's name and the type, unless
the step declares a serializer (an object with ``media_type``, ``dumps`` and ``loads``).
"""

from __future__ import annotations

import io
import json
import math
import tempfile
from pathlib import Path
from typing import Any

from loopml.core.artifacts import ArtifactRef, ArtifactStore
from loopml.errors import ValidationError

PARQUET = "application/vnd.apache.parquet"
NPY = "application/x-npy"
JSON = "application/json"
MODEL = "application/vnd.loopml.model"


def _is_jsonable(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, str)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return all(_is_jsonable(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_jsonable(v) for k, v in value.items())
    return False


def _looks_like_model(value: Any) -> bool:
    return callable(getattr(value, "predict", None)) and not isinstance(value, type)


def dump(value: Any, store: ArtifactStore, *, step: str, serializer: Any = None) -> tuple[ArtifactRef, str]:
    """Store ``value`` and return its reference and media type."""
    if serializer is not None:
        return store.put_bytes(serializer.dumps(value)), str(serializer.media_type)
    if _is_jsonable(value):
        return store.put_bytes(json.dumps(value, sort_keys=True).encode()), JSON
    import numpy as np
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        buf = io.BytesIO()
        value.to_parquet(buf, index=True)
        return store.put_bytes(buf.getvalue()), PARQUET
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            raise ValidationError(f"step {step!r} returned a numpy array of Python objects; return a typed array")
        buf = io.BytesIO()
        np.save(buf, value, allow_pickle=False)
        return store.put_bytes(buf.getvalue()), NPY
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        value = value.item()
    if _is_jsonable(value):
        return store.put_bytes(json.dumps(value, sort_keys=True).encode()), JSON
    if _looks_like_model(value):
        return _dump_model(value, store, step), MODEL
    raise ValidationError(
        f"step {step!r} returned a {type(value).__module__}.{type(value).__qualname__}, which loopml cannot "
        "store; return a DataFrame, numpy array, JSON-safe value (finite numbers) or model, or declare "
        "@step(serializer=...)",
        step=step,
    )


def _dump_model(value: Any, store: ArtifactStore, step: str) -> ArtifactRef:
    from loopml import models

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "model"
        try:
            models.save(value, folder)
        except ValidationError as exc:
            raise ValidationError(f"step {step!r} returned a model loopml cannot save: {exc}") from exc
        return store.put_dir(folder)


def load(digest: str, media_type: str, store: ArtifactStore, *, serializer: Any = None) -> Any:
    """Read an output back (hash verified)."""
    if serializer is not None and media_type == str(serializer.media_type):
        return serializer.loads(store.get_bytes(digest))
    if media_type == MODEL:
        from loopml import models

        folder = Path(tempfile.mkdtemp(prefix="loopml-model-"))
        return models.load(store.get_dir(digest, folder / "model"))
    data = store.get_bytes(digest)
    if media_type == JSON:
        return json.loads(data)
    if media_type == PARQUET:
        import pandas as pd

        return pd.read_parquet(io.BytesIO(data))
    if media_type == NPY:
        import numpy as np

        return np.load(io.BytesIO(data), allow_pickle=False)
    raise ValidationError(f"output {digest} has media type {media_type!r}, which needs the step's own serializer")


def select(value: Any, path: tuple[str | int, ...] | list[str | int], *, node: str) -> Any:
    """Apply ``out["a"][0]`` style indexing to a loaded value, with a clear error when it does not fit."""
    for key in path:
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError) as exc:
            raise ValidationError(f"output of step {node!r} has no item {key!r}") from exc
    return value
