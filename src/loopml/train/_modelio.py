"""Saving a trained model folder: through ``loopml.models`` when it is installed, else a native-format folder.

The fallback writes the booster's own format (XGBoost UBJ, LightGBM text) or skops for scikit-learn,
plus ``loopml-model.json`` naming the flavor and each file's sha256 — never a pickle.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from loopml.core.hashing import sha256_file

MANIFEST = "loopml-model.json"


def _models() -> Any | None:
    try:
        from loopml import models
    except ImportError:
        return None
    return models if hasattr(models, "save") else None


def save_model(model: Any, folder: Path, *, input_example: Any = None) -> str:
    """Write ``model`` into ``folder`` (which may exist and be empty); returns the flavor."""
    models = _models()
    if models is not None:
        info = models.save(model, folder, input_example=input_example)
        return str(getattr(info, "flavor", "unknown"))
    folder.mkdir(parents=True, exist_ok=True)
    flavor, name = _native(model, folder)
    columns = list(getattr(input_example, "columns", []))
    files = {p.name: sha256_file(p) for p in folder.iterdir()}
    manifest = {"format": "loopml-model/1", "flavor": flavor, "model_file": name, "files": files,
                "signature": {"inputs": [{"name": str(c)} for c in columns]}}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return flavor


def _native(model: Any, folder: Path) -> tuple[str, str]:
    module = type(model).__module__
    if module.startswith("xgboost"):
        booster = model.get_booster() if hasattr(model, "get_booster") else model
        booster.save_model(str(folder / "model.ubj"))
        return "xgboost", "model.ubj"
    if module.startswith("lightgbm"):
        booster = getattr(model, "booster_", model)
        booster.save_model(str(folder / "model.txt"))
        return "lightgbm", "model.txt"
    import skops.io

    from loopml.core.canonical import canonical_skops

    (folder / "model.skops").write_bytes(canonical_skops(skops.io.dumps(model)))
    return "sklearn", "model.skops"


def is_model_folder(folder: Path) -> bool:
    """True when ``folder`` already holds a saved model (either format)."""
    return (folder / MANIFEST).is_file() or (folder / "MLmodel").is_file() or (folder / "loopml.json").is_file()
