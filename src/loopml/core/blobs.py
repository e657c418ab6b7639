"""Byte-level blob back ends under the content-addressed store: a local folder and any fsspec URL.

A back end stores immutable blobs under relative keys. ``put_file`` must be atomic: a reader sees the
whole blob under its final key or nothing (local: temp file, fsync, ``os.replace``; S3: a single PUT or a
completed multipart upload). Keys are produced by the store itself, never by a client.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from loopml.config import get_settings
from loopml.core import faults


@dataclass(frozen=True)
class BlobStat:
    """A stored blob's size and last modification (seconds since the epoch; None when the store has none)."""

    size: int
    modified: float | None


class BlobStore(Protocol):
    """Where blob bytes live. Keys are relative POSIX paths made by the store."""

    url: str

    def put_file(self, local: Path, key: str) -> None:
        """Store the file at ``local`` under ``key`` atomically; overwriting is allowed."""

    def open(self, key: str) -> BinaryIO:
        """Open ``key`` for reading; raises FileNotFoundError when absent."""

    def exists(self, key: str) -> bool:
        """Whether ``key`` holds a blob."""

    def delete(self, key: str) -> None:
        """Remove ``key`` (missing keys are fine)."""

    def list(self, prefix: str) -> Iterator[tuple[str, int]]:
        """Yield ``(key, size)`` for every blob under ``prefix``."""

    def stat(self, key: str) -> BlobStat:
        """Size and modification time of ``key``, read now (not from a cache); FileNotFoundError when absent."""

    def touch(self, key: str) -> None:
        """Set ``key``'s modification time to now without changing its bytes (FileNotFoundError when absent).

        A writer whose bytes are already stored calls it, so garbage collection's grace period, measured
        from this time, protects the blob until the writer's record commits.
        """


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalBlobStore:
    """Blobs as files under a root folder; temp files live in ``<root>/tmp`` on the same device."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.url = str(self.root)
        self.tmp = self.root / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)

    def temp_path(self) -> Path:
        """A fresh temp path on the store's device (so the final rename is atomic)."""
        return self.tmp / f"{uuid.uuid4().hex}.part"

    def put_file(self, local: Path, key: str) -> None:
        final = self.root / key
        final.parent.mkdir(parents=True, exist_ok=True)
        if Path(local).parent != self.tmp:
            staged = self.temp_path()
            try:
                shutil.copyfile(local, staged)
            except BaseException:
                staged.unlink(missing_ok=True)
                raise
            local = staged
        with open(local, "rb+") as fh:
            os.fsync(fh.fileno())
        faults.point("before_blob_rename")
        os.replace(local, final)
        _fsync_dir(final.parent)

    def open(self, key: str) -> BinaryIO:
        return open(self.root / key, "rb")

    def exists(self, key: str) -> bool:
        return (self.root / key).is_file()

    def delete(self, key: str) -> None:
        (self.root / key).unlink(missing_ok=True)

    def list(self, prefix: str) -> Iterator[tuple[str, int]]:
        base = self.root / prefix
        if not base.exists():
            return
        for path in sorted(base.rglob("*")):
            if path.is_file():
                yield path.relative_to(self.root).as_posix(), path.stat().st_size

    def stat(self, key: str) -> BlobStat:
        info = (self.root / key).stat()
        return BlobStat(info.st_size, info.st_mtime)

    def touch(self, key: str) -> None:
        os.utime(self.root / key)

    def clean_temp(self, older_than: float = 0.0) -> int:
        """Remove abandoned temp files (left by a crash); returns how many were removed."""
        removed = 0
        for path in self.tmp.glob("*.part"):
            with contextlib.suppress(FileNotFoundError):
                if time.time() - path.stat().st_mtime >= older_than:
                    path.unlink()
                    removed += 1
        return removed


class FsspecBlobStore:
    """Blobs on any fsspec file system (S3 through s3fs, GCS, memory...)."""

    def __init__(self, url: str, **storage_options: object) -> None:
        import fsspec

        self.url = url.rstrip("/")
        self.fs, self.base = fsspec.core.url_to_fs(self.url, **storage_options)
        self.base = self.base.rstrip("/")

    def _path(self, key: str) -> str:
        return f"{self.base}/{key}"

    def put_file(self, local: Path, key: str) -> None:
        # an S3 object appears whole when its PUT (or multipart upload) completes
        self.fs.put_file(str(local), self._path(key))

    def open(self, key: str) -> BinaryIO:
        return self.fs.open(self._path(key), "rb")  # type: ignore[no-any-return]

    def exists(self, key: str) -> bool:
        return bool(self.fs.exists(self._path(key)))

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self._path(key))

    def list(self, prefix: str) -> Iterator[tuple[str, int]]:
        root = self._path(prefix)
        try:
            found = self.fs.find(root, detail=True)
        except FileNotFoundError:
            return
        for path, info in sorted(found.items()):
            yield path[len(self.base) + 1 :], int(info.get("size") or 0)

    def stat(self, key: str) -> BlobStat:
        path = self._path(key)
        self.fs.invalidate_cache(path)
        info = self.fs.info(path)
        return BlobStat(int(info.get("size") or 0), _modified(info))

    def touch(self, key: str) -> None:
        path = self._path(key)
        if not self.fs.exists(path):
            raise FileNotFoundError(path)
        try:  # S3: copying an object onto itself with new metadata renews its LastModified
            self.fs.setxattr(path, loopml_touched=str(time.time()))
        except (AttributeError, NotImplementedError):
            self.fs.touch(path, truncate=False)
        self.fs.invalidate_cache(path)


def _modified(info: dict[str, Any]) -> float | None:
    for name in ("LastModified", "mtime", "modified", "updated", "created"):
        value = info.get(name)
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str) and value:
            with contextlib.suppress(ValueError):
                return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return None


def storage_options(url: str) -> dict[str, Any]:
    """fsspec options for ``url``: the S3 endpoint from ``LOOPML_S3_ENDPOINT`` / ``AWS_ENDPOINT_URL``."""
    endpoint = get_settings().s3_endpoint
    return {"client_kwargs": {"endpoint_url": endpoint}} if url.startswith("s3://") and endpoint else {}


def open_blob_store(url: str) -> BlobStore:
    """Pick a back end by URL scheme: a plain path or ``file://`` is local, anything else fsspec."""
    if "://" not in url:
        return LocalBlobStore(url)
    if url.startswith("file://"):
        return LocalBlobStore(url[len("file://") :])
    return FsspecBlobStore(url, **storage_options(url))
