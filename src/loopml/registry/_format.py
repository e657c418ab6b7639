"""The registry's use of the model format: save an object (or take in a folder) and describe it.

A folder is taken in without following anything: every entry is examined with ``lstat`` first, and a
symbolic link (to a file or a folder), a hard-linked file (it may be a file outside the folder), a device,
FIFO or socket, or a file the manifest does not list is refused, naming each. Only then are the files
read — each once, verified against the manifest — and written into the registry's own copy from those
verified bytes, so nothing outside the folder can reach the stored model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loopml.errors import ValidationError


def save_to_folder(model: Any, dest: Path, *, signature: Any = None) -> Path:
    """Write ``model`` to ``dest`` in the model format; a folder already in the format is copied as is."""
    from loopml import models

    if isinstance(model, (str, Path)):
        source = Path(model)
        if is_script_folder(source):
            models.save_script(source, dest)
            return dest
        return models.copy_folder(source, dest)
    model_path = getattr(model, "path", None)
    if model_path is not None and Path(model_path).is_dir() and signature is None:
        return models.copy_folder(Path(model_path), dest)
    if isinstance(model, models.LoadedModel):  # e.g. a model handed from one pipeline step to the next
        if model.flavor not in ("sklearn", "xgboost"):
            raise ValidationError(f"this {model.flavor} model was loaded from a model folder, which keeps the "
                                  "signature it was saved with; register it without signature=")
        model = model.model  # the estimator itself, saved again in its own flavor: never a pickle of the wrapper
    models.save(model, dest, signature=signature)
    return dest


def is_script_folder(source: Path) -> bool:
    """A folder without loopml's manifest that holds a SageMaker inference script (``code/inference.py``)."""
    from loopml.models.manifest import MANIFEST

    return (source.is_dir() and not source.is_symlink() and not (source / MANIFEST).exists()
            and any((source / c).is_file() for c in ("code/inference.py", "inference.py")))


def describe_folder(folder: Path) -> tuple[str, dict[str, Any]]:
    """The flavor and the input signature (as a dict) recorded in a model folder's manifest."""
    from loopml import models

    info = models.read_info(folder)
    signature = info.signature.to_dict() if info.signature is not None else {}
    return info.flavor, signature
