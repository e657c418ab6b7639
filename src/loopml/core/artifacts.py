"""The content-addressed artifact store.

Every artifact is named by the sha256 of its bytes (``sha256:<hex>``); identical content is stored once;
writes are atomic (nothing appears under a final name until it is whole); every read verifies the hash
and raises :class:`~loopml.errors.ArtifactCorrupted` naming the artifact when it does not match. A folder
is stored as its files plus a JSON manifest; the folder's digest is the manifest's.

Clients never give a storage location: they give bytes and get back a digest, and open by digest.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from loopml.core import faults
from loopml.core.blobs import BlobStore, LocalBlobStore, open_blob_store
from loopml.core.hashing import sha256_stream
from loopml.errors import ArtifactCorrupted, IntegrityError, NotFoundError, StorageFull, ValidationError

_CHUNK = 1 << 20
_DIGEST = re.compile(r"^(?:sha256:)?([0-9a-f]{64})$")
DIR_MEDIA_TYPE = "application/vnd.loopml.dir+json"


@dataclass(frozen=True)
class ArtifactRef:
    """A stored artifact: its digest, size in bytes and where it lives (for people, not for lookups)."""

    sha256: str
    size: int
    uri: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def parse_digest(value: str | ArtifactRef) -> str:
    """Return the bare hex digest of ``value``; anything but ``sha256:<64 hex>`` is refused."""
    text = value.sha256 if isinstance(value, ArtifactRef) else str(value)
    match = _DIGEST.match(text.strip())
    if not match:
        raise ValidationError(
            f"{text[:80]!r} is not an artifact digest; expected 'sha256:' followed by 64 lowercase hex digits",
            value=text[:80],
        )
    return match.group(1)


def _key(hexdigest: str) -> str:
    return f"sha256/{hexdigest[:2]}/{hexdigest}"


def _safe_relpath(name: str) -> str:
    """Validate a relative file name inside a folder artifact (no traversal, no absolute paths)."""
    path = PurePosixPath(name)
    if not name or path.is_absolute() or "\\" in name or any(p in ("..", "", ".") for p in path.parts):
        raise ValidationError(f"file name {name!r} in a folder artifact must be a plain relative path")
    return path.as_posix()


class ArtifactStore:
    """Content-addressed storage over a :class:`BlobStore`.

    Args:
        url: a folder path or an fsspec URL (``s3://bucket/prefix``).
    """

    def __init__(self, url: str) -> None:
        self.blobs: BlobStore = open_blob_store(url)
        self.url = self.blobs.url
        local = self.blobs if isinstance(self.blobs, LocalBlobStore) else None
        self._staging = local.tmp if local else Path(tempfile.gettempdir())

    def _ref(self, hexdigest: str, size: int) -> ArtifactRef:
        return ArtifactRef(f"sha256:{hexdigest}", size, f"{self.url}/{_key(hexdigest)}")

    # -- writing ------------------------------------------------------------------------------------
    def put_bytes(self, data: bytes, *, expected_sha256: str | None = None) -> ArtifactRef:
        """Store ``data``; with ``expected_sha256`` the bytes must hash to it or nothing is kept."""
        hexdigest = hashlib.sha256(data).hexdigest()
        self._check_expected(hexdigest, expected_sha256)
        if self._has(hexdigest, len(data)):
            return self._ref(hexdigest, len(data))
        staged = self._stage(lambda fh: fh.write(data))
        return self._commit(staged, hexdigest, len(data))

    def put_file(self, path: str | Path, *, expected_sha256: str | None = None) -> ArtifactRef:
        """Store a file's bytes, streaming (hashes while copying; large files are read once)."""
        hasher = hashlib.sha256()

        def copy(fh: object) -> None:
            with open(path, "rb") as src:
                while chunk := src.read(_CHUNK):
                    hasher.update(chunk)
                    fh.write(chunk)  # type: ignore[attr-defined]

        staged = self._stage(copy)
        hexdigest, size = hasher.hexdigest(), staged.stat().st_size
        try:
            self._check_expected(hexdigest, expected_sha256)
        except IntegrityError:
            staged.unlink(missing_ok=True)
            raise
        if self._has(hexdigest, size):
            staged.unlink(missing_ok=True)
            return self._ref(hexdigest, size)
        return self._commit(staged, hexdigest, size)

    def put_dir(self, folder: str | Path) -> ArtifactRef:
        """Store every file under ``folder`` and a manifest; returns the manifest's reference."""
        root = Path(folder)
        if not root.is_dir():
            raise NotFoundError(f"{root} is not a folder; pass the folder to store")
        files = []
        for path in sorted(root.rglob("*")):
            if path.is_symlink():
                raise ValidationError(f"{path} is a symbolic link; folder artifacts hold regular files only")
            if path.is_file():
                ref = self.put_file(path)
                files.append({"path": path.relative_to(root).as_posix(), "sha256": ref.sha256, "size": ref.size})
        manifest = {"media_type": DIR_MEDIA_TYPE, "files": files}
        return self.put_bytes(json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode())

    def _check_expected(self, hexdigest: str, expected: str | None) -> None:
        if expected is not None and parse_digest(expected) != hexdigest:
            raise IntegrityError(
                f"the upload was declared as {expected} but its bytes hash to sha256:{hexdigest}; "
                "nothing was stored — send the bytes that match the declared digest",
                declared=expected,
                actual=f"sha256:{hexdigest}",
            )

    def _has(self, hexdigest: str, size: int) -> bool:
        """Whether the blob is already stored whole; if so its modification time is renewed, so that
        garbage collection's grace period protects it until the caller's record commits."""
        key = _key(hexdigest)
        try:
            if not self.blobs.exists(key) or self.blobs.stat(key).size != size:
                return False
            self.blobs.touch(key)
        except FileNotFoundError:
            return False
        return True

    def _stage(self, write: object) -> Path:
        staged = self._staging / f"loopml-{uuid.uuid4().hex}.part"
        try:
            with open(staged, "wb") as fh:
                write(fh)  # type: ignore[operator]
                faults.point("blob_half_written")
        except OSError as exc:
            staged.unlink(missing_ok=True)
            raise self._translate_os_error(exc) from exc
        return staged

    def _commit(self, staged: Path, hexdigest: str, size: int) -> ArtifactRef:
        try:
            self.blobs.put_file(staged, _key(hexdigest))
        except OSError as exc:
            raise self._translate_os_error(exc) from exc
        finally:
            staged.unlink(missing_ok=True)
        faults.point("after_blob_write")
        return self._ref(hexdigest, size)

    @staticmethod
    def _translate_os_error(exc: OSError) -> Exception:
        if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
            return StorageFull(
                f"the artifact store is out of space ({os.strerror(exc.errno)}); nothing was written — "
                "free space (or run 'loopml gc') and retry",
            )
        return exc

    # -- reading ------------------------------------------------------------------------------------
    def exists(self, digest: str | ArtifactRef) -> bool:
        """Whether the artifact's blob is present (its content is not checked)."""
        return self.blobs.exists(_key(parse_digest(digest)))

    def size(self, digest: str | ArtifactRef) -> int:
        """The stored size in bytes (read now; FileNotFoundError when absent)."""
        return self.blobs.stat(_key(parse_digest(digest))).size

    def get_bytes(self, digest: str | ArtifactRef) -> bytes:
        """The artifact's bytes, verified against its digest."""
        hexdigest = parse_digest(digest)
        with self._open(hexdigest) as fh:
            data = bytes(fh.read())
        self._verify(hexdigest, hashlib.sha256(data).hexdigest())
        return data

    def get_file(self, digest: str | ArtifactRef, dest: str | Path) -> Path:
        """Copy the artifact to ``dest`` (verified; ``dest`` appears only when the copy is whole)."""
        hexdigest, dest = parse_digest(digest), Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.part")
        hasher = hashlib.sha256()
        try:
            with self._open(hexdigest) as src, open(part, "wb") as out:
                while chunk := src.read(_CHUNK):
                    hasher.update(chunk)
                    out.write(chunk)
            self._verify(hexdigest, hasher.hexdigest())
            os.replace(part, dest)
        finally:
            part.unlink(missing_ok=True)
        return dest

    def get_dir(self, digest: str | ArtifactRef, dest: str | Path) -> Path:
        """Recreate a folder artifact under ``dest`` (each file verified)."""
        manifest = self.read_manifest(digest)
        dest = Path(dest)
        staging = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.part")
        try:
            for entry in manifest["files"]:
                self.get_file(entry["sha256"], staging / _safe_relpath(entry["path"]))
            staging.mkdir(parents=True, exist_ok=True)
            if dest.exists():
                shutil.rmtree(dest)
            os.replace(staging, dest)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return dest

    def read_manifest(self, digest: str | ArtifactRef) -> dict[str, Any]:
        """The manifest of a folder artifact (validated)."""
        try:
            manifest = json.loads(self.get_bytes(digest))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValidationError(f"artifact {digest} is not a folder artifact") from exc
        if not isinstance(manifest, dict) or manifest.get("media_type") != DIR_MEDIA_TYPE:
            raise ValidationError(f"artifact {digest} is not a folder artifact")
        for entry in manifest["files"]:
            _safe_relpath(entry["path"])
            parse_digest(entry["sha256"])
        return manifest

    def _open(self, hexdigest: str):  # type: ignore[no-untyped-def]
        try:
            return self.blobs.open(_key(hexdigest))
        except FileNotFoundError as exc:
            raise NotFoundError(
                f"artifact sha256:{hexdigest} is not in the store at {self.url}; "
                "it was never written or was garbage-collected",
                digest=f"sha256:{hexdigest}",
            ) from exc

    def _verify(self, expected: str, actual: str) -> None:
        if expected != actual:
            raise ArtifactCorrupted(
                f"artifact sha256:{expected} is corrupted: its stored bytes hash to sha256:{actual}. "
                "Do not use it; restore it from a copy or re-create it, then run 'loopml fsck'",
                digest=f"sha256:{expected}",
            )

    def verify(self, digest: str | ArtifactRef) -> bool:
        """True when the stored bytes still hash to the digest (streams; for fsck)."""
        hexdigest = parse_digest(digest)
        with self._open(hexdigest) as fh:
            return sha256_stream(fh) == f"sha256:{hexdigest}"

    def read_unverified(self, digest: str | ArtifactRef, *, limit: int | None = None) -> bytes:
        """Up to ``limit`` bytes of the stored blob, *not* checked against the digest (for fsck and gc,
        which must look inside a blob even when it is corrupted)."""
        with self._open(parse_digest(digest)) as fh:
            return bytes(fh.read() if limit is None else fh.read(limit))

    def age(self, digest: str | ArtifactRef) -> float | None:
        """Seconds since the blob was last written or renewed, read now; None when absent or unknown."""
        try:
            modified = self.blobs.stat(_key(parse_digest(digest))).modified
        except FileNotFoundError:
            return None
        return None if modified is None else time.time() - modified

    def digests(self) -> list[tuple[str, int]]:
        """Every stored blob as ``(sha256:<hex>, size)``."""
        return [(f"sha256:{key.rsplit('/', 1)[-1]}", size) for key, size in self.blobs.list("sha256")]

    def delete(self, digest: str | ArtifactRef) -> None:
        """Remove a blob (used by garbage collection only)."""
        self.blobs.delete(_key(parse_digest(digest)))
