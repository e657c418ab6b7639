"""The registry's use of the model format: save an object (or accept a folder) and describe it."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from loopml.errors import ValidationError


def save_to_folder(model: Any, dest: Path, *, signature: Any = None) -> Path:
    """Write ``model`` to ``dest`` in the model format; a folder already in the format is copied as is."""
    from loopml import models

    if isinstance(model, (str, Path)):
        source = Path(model)
        if not source.is_dir():
            raise ValidationError(f"{source} is not a model folder; pass a fitted model or a folder saved by "
                                  "loopml.models.save")
        models.read_info(source)  # validates the manifest and every file's hash
        shutil.copytree(source, dest)
        return dest
    source = getattr(model, "path", None)
    if source is not None and Path(source).is_dir() and signature is None:
        shutil.copytree(source, dest)
        return dest
    models.save(model, dest, signature=signature)
    return dest


def describe_folder(folder: Path) -> tuple[str, dict[str, Any]]:
    """The flavor and the input signature (as a dict) recorded in a model folder's manifest."""
    from loopml import models

    info = models.read_info(folder)
    signature = info.signature.to_dict() if hasattr(info.signature, "to_dict") else dict(info.signature or {})
    return info.flavor, signature
