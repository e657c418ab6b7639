"""sha256 of bytes not held in memory — a file, an open binary stream, a file-or-folder path — read in
1 MiB blocks. Every digest is ``sha256:<hex>``, the form the records keep; a caller that stores bare hex
strips the prefix. Imports only the standard library (cheap enough for a training job's entry point).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

PREFIX = "sha256:"
_CHUNK = 1 << 20


def sha256_stream(fh: BinaryIO) -> str:
    """``sha256:<hex>`` of what is left to read in ``fh`` (read to its end)."""
    digest = hashlib.sha256()
    for block in _blocks(fh):
        digest.update(block)
    return PREFIX + digest.hexdigest()


def sha256_file(path: str | os.PathLike[str]) -> str:
    """``sha256:<hex>`` of the file's bytes, read now (FileNotFoundError when absent)."""
    with open(path, "rb") as fh:
        return sha256_stream(fh)


def sha256_path(path: Path) -> str:
    """``sha256:<hex>`` of a file's bytes, or of a folder's files in sorted order, each as its relative POSIX
    path followed by its bytes (a missing path hashes as an empty folder)."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        digest.update(file.relative_to(path).as_posix().encode() if path.is_dir() else b"")
        with open(file, "rb") as fh:
            for block in _blocks(fh):
                digest.update(block)
    return PREFIX + digest.hexdigest()


def _blocks(fh: BinaryIO) -> Iterator[bytes]:
    while block := fh.read(_CHUNK):
        yield block
