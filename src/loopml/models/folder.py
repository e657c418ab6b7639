"""Saving a model to a folder and loading it back: the entry points of the model format."""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
from pathlib import Path
from typing import Any

from loopml.core.hashing import sha256_file
from loopml.errors import ArtifactCorrupted, ConflictError, UnsafeModelError, ValidationError
from loopml.models import _flavors
from loopml.models.loaded import LoadedModel, wrap
from loopml.models.manifest import (
    FORMAT_VERSION,
    MANIFEST,
    ModelInfo,
    folder_digest,
    info_from,
    read_folder,
    read_verified,
    sha256,
    write_manifest,
)
from loopml.models.safety import PICKLE_FAMILY, detect_format
from loopml.models.signature import Signature, as_signature, infer_signature

EXAMPLE_FILE = "input_example.json"
_COUNTS = {"deserialized": 0}


def save(model: Any, path: str | Path, *, signature: Any = None, input_example: Any = None,
         flavor: str | None = None, metadata: dict[str, Any] | None = None) -> ModelInfo:
    """Save ``model`` to the folder ``path`` in the loopml model format.

    The folder gets the model file in its flavor's native format and ``loopml-model.json``. It is written
    under a temporary name and renamed into place, so a crash never leaves a half-written model.

    Args:
        model: a scikit-learn estimator or Pipeline, an XGBoost or LightGBM model, an ``onnx.ModelProto``,
            or any object with ``predict(df)`` (flavor ``pyfunc``, which needs ``trust=True`` to load).
        path: the folder to create; it must not exist, or be empty.
        signature: a :class:`Signature`, its dict form, or a DataFrame to infer it from. When omitted it
            is inferred from ``input_example``; failing that, models that take only numbers and recorded
            their feature names (plain estimators, XGBoost, LightGBM) get float64 columns.
        input_example: a DataFrame of model inputs; its first 5 rows are stored with the model.
        flavor: force a flavor instead of detecting it.
        metadata: JSON-serialisable data stored in the manifest.

    Returns:
        The manifest of the saved model, with its digest.

    Raises:
        ValidationError: the model is not supported, the signature does not match the model's fitted
            features, or the metadata is not JSON.
        ConflictError: ``path`` exists and is not an empty folder.

    Example:
        >>> from sklearn.linear_model import LinearRegression
        >>> import pandas as pd, tempfile, pathlib
        >>> X = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
        >>> folder = pathlib.Path(tempfile.mkdtemp()) / "m"
        >>> save(LinearRegression().fit(X, [2.0, 4.0, 6.0]), folder, input_example=X).flavor
        'sklearn'
    """
    target = _check_target(Path(path))
    name = flavor or _flavors.detect_flavor(model)
    module = _flavors.flavor_module(name)
    if flavor is not None and not module.handles(model):
        raise ValidationError(f"flavor {flavor!r} cannot save a {type(model).__qualname__}; omit flavor= to "
                              "detect it, or pass a model of that kind", flavor=flavor)
    sig = _signature_for(model, module, signature=signature, input_example=input_example)
    meta = _json_metadata(metadata)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.tmp-"))
    try:
        manifest = _write_payload(model, module, staging, name=name, sig=sig, meta=meta,
                                  input_example=input_example)
        _publish(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return info_from(manifest, target)


def save_files(files: dict[str, bytes], path: str | Path, *, flavor: str, model_file: str,
               framework: tuple[str, str], model_class: str, signature: Signature | None, options: dict[str, Any],
               metadata: dict[str, Any] | None, python_version: str) -> ModelInfo:
    """Write a model folder from ``{relative path: bytes}`` plus its manifest (atomically, like :func:`save`)."""
    from loopml.models._tree import write_files

    target = _check_target(Path(path))
    manifest = {
        "format_version": FORMAT_VERSION, "flavor": flavor,
        "framework": {"name": framework[0], "version": framework[1]}, "python_version": python_version,
        "model_file": model_file, "model_class": model_class, "signature": signature.to_dict() if signature else None,
        "output": {"type": "unknown"}, "files": {rel: sha256(data) for rel, data in sorted(files.items())},
        "metadata": _json_metadata(metadata), "options": options,
    }
    manifest["digest"] = folder_digest(manifest)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.tmp-"))
    try:
        staging.rmdir()
        write_files(staging, files)
        write_manifest(staging, manifest)
        _publish(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return info_from(manifest, target)


def _check_target(target: Path) -> Path:
    if target.is_symlink() or (target.exists() and (not target.is_dir() or any(target.iterdir()))):
        raise ConflictError(f"{target} already exists and is not an empty folder; save to a new path",
                            path=str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def _signature_for(model: Any, module: Any, *, signature: Any, input_example: Any) -> Signature | None:
    sig = as_signature(signature)
    if sig is None and input_example is not None:
        sig = infer_signature(input_example)
    if sig is None:
        implied = getattr(module, "model_signature", None)
        return implied(model) if implied is not None else None
    check = getattr(module, "check_signature", _flavors.check_signature)
    order = check(model, sig.names)
    by_name = {c.name: c for c in sig.inputs}
    return Signature(tuple(by_name[n] for n in order))


def _json_metadata(metadata: dict[str, Any] | None) -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise ValidationError(f"metadata must be a dict, got {type(metadata).__name__}")
    try:
        return dict(json.loads(json.dumps(metadata, allow_nan=False)))
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"metadata must be JSON-serialisable (no NaN): {exc}; convert the values to "
                              "str, int, float, bool, list or dict") from exc


def _write_payload(model: Any, module: Any, staging: Path, *, name: str, sig: Signature | None,
                   meta: dict[str, Any], input_example: Any) -> dict[str, Any]:
    saved = module.save(model, staging)
    if input_example is not None and hasattr(input_example, "head"):
        text = input_example.head(5).to_json(orient="split", date_format="iso", index=False)
        (staging / EXAMPLE_FILE).write_text(text, encoding="utf-8")
    files = {p.name: sha256_file(p) for p in sorted(staging.iterdir())}
    options = dict(saved.options)
    if name == "sklearn":
        options["untrusted_types"] = module.untrusted_types((staging / saved.model_file).read_bytes())
    manifest = {
        "format_version": FORMAT_VERSION, "flavor": name,
        "framework": {"name": saved.framework, "version": saved.framework_version},
        "python_version": platform.python_version(), "model_file": saved.model_file,
        "model_class": f"{type(model).__module__}.{type(model).__qualname__}",
        "signature": sig.to_dict() if sig else None, "output": saved.output.to_dict(),
        "files": files, "metadata": meta, "options": options,
    }
    manifest["digest"] = folder_digest(manifest)
    write_manifest(staging, manifest)
    return manifest


def _publish(staging: Path, target: Path) -> None:
    for path in staging.rglob("*"):
        if path.is_file():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
    if target.exists():
        target.rmdir()
    os.rename(staging, target)


def load(path: str | Path, *, trust: bool = False, expected_digest: str | None = None) -> LoadedModel:
    """Load a model folder written by :func:`save`.

    Every file's sha256 is verified before any byte is deserialised, the model file's format is checked
    from its bytes, and pickle-family payloads are refused unless ``trust`` is true.

    Args:
        path: the model folder.
        trust: allow formats that can run code when loaded (``pyfunc`` pickles, ``script`` inference code,
            skops types outside the allowlist). Pass it only for files you built yourself.
        expected_digest: if given, the folder digest must equal it (e.g. the digest a version was
            approved for).

    Returns:
        A :class:`LoadedModel`; classifiers also have ``predict_proba``.

    Raises:
        ArtifactCorrupted: a file or the manifest does not match its recorded hash, or the digest differs
            from ``expected_digest``.
        UnsafeModelError: the payload could run code and ``trust`` is false.
        ValidationError: the manifest is malformed or names a file outside the folder.
    """
    info, blobs = _checked(path, trust=trust, expected_digest=expected_digest)
    module = _flavors.flavor_module(info.flavor)
    extra = {"files": blobs} if getattr(module, "NEEDS_FILES", False) else {}
    _COUNTS["deserialized"] += 1
    return wrap(info, module.load(blobs[info.model_file], info, trust=trust, **extra))


def check(path: str | Path, *, trust: bool = False) -> tuple[ModelInfo, bool]:
    """Everything :func:`load` checks, without deserialising anything (the registry runs it at register time).

    Returns:
        The verified manifest, and whether loading needs ``trust=True`` (the model is code: a pickle, an
        inference script, or skops types outside the allowlist).

    Raises:
        the errors of :func:`load`; UnsafeModelError when the model needs trust and ``trust`` is false.
    """
    try:
        info, _ = _checked(path, trust=False)
        return info, False
    except UnsafeModelError:
        if not trust:
            raise
    info, _ = _checked(path, trust=True)
    return info, True


def copy_folder(source: Path, dest: Path) -> Path:
    """Copy a model folder from its verified bytes, after refusing links, special files and stray files.

    Raises:
        ValidationError: ``source`` is not a model folder, or holds something other than the regular,
            singly-linked files its manifest lists (every problem is named).
        ArtifactCorrupted: a listed file does not match its recorded sha256.
    """
    from loopml.models._tree import scan_tree, write_files

    if source.is_symlink() or not source.is_dir():
        raise ValidationError(f"{source} is not a model folder; pass a fitted model or a folder saved by "
                              "loopml.models.save", path=str(source))
    found = scan_tree(source)
    _, blobs, manifest = read_folder(source)
    stray = sorted(set(found) - set(blobs) - {MANIFEST})
    if stray:
        raise ValidationError(f"{source} holds files its manifest does not list: {stray[:10]}; a model folder holds "
                              "only what loopml.models.save wrote — remove them or save the model again",
                              files=stray)
    write_files(dest, {**blobs, MANIFEST: manifest})
    return dest


def _checked(path: str | Path, *, trust: bool, expected_digest: str | None = None
             ) -> tuple[ModelInfo, dict[str, bytes]]:
    info, blobs = read_verified(path)
    if expected_digest is not None and info.digest != expected_digest:
        raise ArtifactCorrupted(f"{path} has digest {info.digest} but {expected_digest} was expected; fetch "
                                "the approved model again", expected=expected_digest, actual=info.digest)
    module = _flavors.flavor_module(info.flavor)
    data = blobs[info.model_file]
    _check_payload(info, data, module, trust=trust)
    inspect = getattr(module, "inspect", None)
    if inspect is not None:
        inspect(data, info, trust=trust)
    return info, blobs


def _check_payload(info: ModelInfo, data: bytes, module: Any, *, trust: bool) -> None:
    if getattr(module, "RUNS_CODE", False) and not trust:
        raise UnsafeModelError(
            f"{info.path} is a {info.flavor} model: {module.WHAT_RUNS.format(info=info)}, which can run any "
            "code when loaded. Pass trust=True only if you built this model yourself, or save it in a safe "
            "flavor (sklearn, xgboost, lightgbm, onnx)", flavor=info.flavor)
    expected = module.FILE_FORMAT
    found = detect_format(data)
    if expected is None or found == expected:
        return
    if found in PICKLE_FAMILY:
        raise UnsafeModelError(
            f"model file {info.model_file!r} is a {found} stream, not {expected} as flavor {info.flavor!r} "
            "requires; pickle-family files can run code when loaded and are refused. Re-save the model "
            "with loopml.models.save", file=info.model_file, format=found)
    raise ValidationError(f"model file {info.model_file!r} holds {found} data, but flavor {info.flavor!r} "
                          f"needs {expected}; re-save the model with loopml.models.save",
                          file=info.model_file, format=found)


def deserialization_count() -> int:
    """How many model payloads this process has deserialised (tests use it to prove none was)."""
    return _COUNTS["deserialized"]
