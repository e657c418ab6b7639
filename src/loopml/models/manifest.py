"""The model folder's manifest, ``loopml-model.json``, and reading a folder's files after verifying them.

A model folder holds the manifest plus plain-named files. The manifest records each file's sha256 and
the folder digest: the sha256 of the canonical JSON of ``{file name: file digest}``. Reading verifies the
names (plain parts, no ``..``, no symlink anywhere on the path), sizes and every hash before any byte is handed to a deserialiser,
and hands out the verified bytes themselves so a file swapped after the check is never read.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loopml.errors import ArtifactCorrupted, NotFoundError, ValidationError
from loopml.models.safety import check_relative_path
from loopml.models.signature import Signature

MANIFEST = "loopml-model.json"
FORMAT_VERSION = 1
_MAX_MANIFEST = 4 << 20
_MAX_FILES = 256
_REQUIRED = ("format_version", "flavor", "framework", "model_file", "files", "digest")


@dataclass(frozen=True)
class OutputSpec:
    """What the model predicts.

    Attributes:
        type: ``classification``, ``regression`` or ``unknown``.
        classes: the class labels, in ``predict_proba`` column order, for classifiers.
    """

    type: str = "unknown"
    classes: tuple[Any, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form stored in the manifest."""
        out: dict[str, Any] = {"type": self.type}
        if self.classes is not None:
            out["classes"] = list(self.classes)
        return out


@dataclass(frozen=True)
class ModelInfo:
    """What the manifest of a saved model says (returned by ``save`` and ``read_info``).

    Attributes:
        path: the model folder.
        flavor: ``sklearn``, ``xgboost``, ``lightgbm``, ``onnx`` or ``pyfunc``.
        framework: the library that built the model, e.g. ``scikit-learn``.
        framework_version: its version at save time.
        python_version: the Python version at save time.
        model_file: the file holding the model itself.
        model_class: the saved object's ``module.QualName``.
        signature: the input signature, or None when none was given or inferred.
        output: classification (with classes) or regression.
        files: every file name mapped to ``sha256:<hex>``.
        digest: the folder digest, ``sha256:<hex>``.
        metadata: the caller's JSON metadata.
        options: flavor-specific settings (e.g. the XGBoost wrapper class).
        format_version: the manifest format version.
    """

    path: Path
    flavor: str
    framework: str
    framework_version: str
    python_version: str
    model_file: str
    model_class: str
    signature: Signature | None
    output: OutputSpec
    files: dict[str, str]
    digest: str
    metadata: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        """The manifest as JSON-ready data."""
        return {
            "format_version": self.format_version, "flavor": self.flavor,
            "framework": {"name": self.framework, "version": self.framework_version},
            "python_version": self.python_version, "model_file": self.model_file,
            "model_class": self.model_class,
            "signature": self.signature.to_dict() if self.signature else None,
            "output": self.output.to_dict(), "files": dict(sorted(self.files.items())),
            "digest": self.digest, "metadata": self.metadata, "options": self.options,
        }


def sha256(data: bytes) -> str:
    """``sha256:<hex>`` of ``data``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def folder_digest(manifest: dict[str, Any]) -> str:
    """The folder digest: sha256 of the canonical JSON of the manifest without its ``digest`` key.

    The manifest lists every file's sha256, so the digest covers the files and every manifest field.
    """
    body = {k: v for k, v in manifest.items() if k != "digest"}
    return sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False).encode())


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """Write ``manifest`` (with its digest) as ``folder``'s manifest."""
    text = json.dumps(manifest, indent=2, allow_nan=False)
    (folder / MANIFEST).write_text(text + "\n", encoding="utf-8")


def read_info(path: str | Path) -> ModelInfo:
    """Read and verify a model folder's manifest and files (hashes included) without loading the model.

    Raises:
        NotFoundError: ``path`` is not a folder with a manifest.
        ValidationError: the manifest is malformed or names a file outside the folder.
        ArtifactCorrupted: a file is missing or its bytes do not match the recorded sha256.
    """
    return read_verified(path)[0]


def read_verified(path: str | Path) -> tuple[ModelInfo, dict[str, bytes]]:
    """The manifest and every listed file's bytes, each verified against its recorded sha256."""
    info, blobs, _raw = read_folder(path)
    return info, blobs


def read_folder(path: str | Path) -> tuple[ModelInfo, dict[str, bytes], bytes]:
    """:func:`read_verified` plus the manifest's own bytes (to copy a folder exactly, from verified bytes)."""
    folder = Path(path)
    raw = _read_regular(folder, MANIFEST, what="manifest")
    doc = _parse(raw, folder)
    if folder_digest(doc) != doc["digest"]:
        raise ArtifactCorrupted(f"the manifest of {folder} records digest {doc['digest']!r} but its content "
                                f"hashes to {folder_digest(doc)}; the manifest was edited — fetch the model "
                                "again from the registry", file=MANIFEST)
    blobs = {name: _read_verified_file(folder, name, digest) for name, digest in sorted(doc["files"].items())}
    return info_from(doc, folder), blobs, raw


def _read_regular(folder: Path, name: str, *, what: str) -> bytes:
    """The bytes of ``folder/name``, opened one path part at a time without following any symlink."""
    try:
        fd = _open_nofollow(folder, name)
    except FileNotFoundError as exc:
        if what == "manifest":
            raise NotFoundError(f"{folder} has no {MANIFEST}; it is not a model folder saved by "
                                "loopml.models.save", path=str(folder)) from exc
        raise ArtifactCorrupted(f"model file {name!r} listed in the manifest is missing from {folder}; fetch "
                                "the model again", file=name) from exc
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise ValidationError(f"{what} {name!r} in {folder} is not a regular file (symlinks and devices are "
                                  "refused); re-save the model with loopml.models.save", file=name)
        if what == "manifest" and st.st_size > _MAX_MANIFEST:
            raise ValidationError(f"{MANIFEST} is {st.st_size} bytes; at most {_MAX_MANIFEST} are allowed")
        return fh.read()


def _open_nofollow(folder: Path, name: str) -> int:
    """A read-only descriptor of ``folder/name``; a symlink in any part of ``name`` is refused, not followed."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    parent = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        *dirs, leaf = name.split("/")
        for part in dirs:
            child = _open_part(part, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0),
                               parent, name)
            os.close(parent)
            parent = child
        return _open_part(leaf, flags, parent, name)
    finally:
        os.close(parent)


def _open_part(part: str, flags: int, parent: int, name: str) -> int:
    try:
        return os.open(part, flags, dir_fd=parent)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.ENXIO):
            raise ValidationError(f"model file {name!r}: {part!r} is a symbolic link or not a regular file or "
                                  "folder (refused, never followed); re-save the model with loopml.models.save",
                                  file=name) from exc
        raise


def read_file(folder: Path, name: str) -> bytes:
    """The bytes of ``folder/name`` (a relative path), opened without following any symlink on the way."""
    return _read_regular(folder, name, what="file")


def _read_verified_file(folder: Path, name: str, digest: str) -> bytes:
    data = _read_regular(folder, name, what="model file")
    actual = sha256(data)
    if actual != digest:
        raise ArtifactCorrupted(f"model file {name!r} hashes to {actual} but the manifest records {digest}; "
                                "it was changed or truncated on disk — fetch the model again", file=name,
                                expected=digest, actual=actual)
    return data


def _parse(raw: bytes, folder: Path) -> dict[str, Any]:
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValidationError(f"{folder / MANIFEST} is not valid JSON; re-save the model") from exc
    if not isinstance(doc, dict) or any(k not in doc for k in _REQUIRED):
        raise ValidationError(f"{folder / MANIFEST} lacks required keys {list(_REQUIRED)}; re-save the model")
    if doc["format_version"] != FORMAT_VERSION:
        raise ValidationError(f"model format version {doc['format_version']!r} is not supported (this loopml "
                              f"reads version {FORMAT_VERSION}); upgrade loopml or re-save the model")
    files = doc["files"]
    if not isinstance(files, dict) or not 0 < len(files) <= _MAX_FILES:
        raise ValidationError(f"{folder / MANIFEST}: 'files' must map 1 to {_MAX_FILES} file names to sha256 "
                              "digests; re-save the model")
    for name, digest in files.items():
        check_relative_path(name)
        if name == MANIFEST or not isinstance(digest, str) or not digest.startswith("sha256:"):
            raise ValidationError(f"{folder / MANIFEST}: file {name!r} has digest {digest!r}; expected "
                                  "'sha256:<hex>'", file=name)
    if check_relative_path(doc["model_file"]) not in files:
        raise ValidationError(f"model_file {doc['model_file']!r} is not among the listed files")
    return doc


def info_from(doc: dict[str, Any], folder: Path) -> ModelInfo:
    framework = doc["framework"] if isinstance(doc["framework"], dict) else {}
    output = doc.get("output") or {}
    classes = output.get("classes")
    return ModelInfo(
        path=folder, flavor=str(doc["flavor"]), framework=str(framework.get("name", "")),
        framework_version=str(framework.get("version", "")), python_version=str(doc.get("python_version", "")),
        model_file=doc["model_file"], model_class=str(doc.get("model_class", "")),
        signature=Signature.from_dict(doc["signature"]) if doc.get("signature") else None,
        output=OutputSpec(str(output.get("type", "unknown")), tuple(classes) if classes is not None else None),
        files={str(k): str(v) for k, v in doc["files"].items()}, digest=str(doc["digest"]),
        metadata=dict(doc.get("metadata") or {}), options=dict(doc.get("options") or {}),
    )
