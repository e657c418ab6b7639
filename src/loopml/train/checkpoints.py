"""Checkpoints: a local folder mirrored to the artifact store, each checkpoint sealed by a manifest.

A checkpoint is written as ``ckpt-<step>.bin.tmp``, flushed, renamed to ``ckpt-<step>.bin``, copied into
the content-addressed store, and only then sealed by ``ckpt-<step>.json`` (step, sha256, size, written
atomically) and a ``checkpoints`` row. The loader walks manifests newest first and takes the first one
whose bytes hash to what it says; a checkpoint without a verified manifest is ignored, and leftover temp
files and unsealed ``.bin`` files are removed when the job starts (RELIABILITY.md §3 cases 5 and 6).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from loopml.core import clock, context, faults
from loopml.core.rows import insert_ignore
from loopml.errors import ArtifactCorrupted, NotFoundError
from loopml.train import _signals
from loopml.train._tables import checkpoints as checkpoints_table

_NAME = re.compile(r"ckpt-(\d{8})\.json")
KEEP_LOCAL = 3


@dataclass(frozen=True)
class Checkpoint:
    """A verified checkpoint: its step, digest and bytes."""

    step: int
    sha256: str
    data: bytes


class CheckpointStore:
    """The checkpoints of one run.

    Args:
        folder: the job's checkpoint folder (``SM_CHECKPOINT_DIR``).
        run_id: the run whose checkpoints are mirrored in the artifact store (None: local only).
    """

    def __init__(self, folder: str | Path, run_id: str | None = None) -> None:
        self.folder = Path(folder)
        self.run_id = run_id
        self.folder.mkdir(parents=True, exist_ok=True)

    def clean(self) -> list[str]:
        """Remove temp files and checkpoint bytes that no manifest seals; returns the removed names."""
        sealed = {p.stem for p in self.folder.glob("ckpt-*.json")}
        removed = []
        for path in self.folder.iterdir():
            stale = path.name.endswith(".tmp") or (path.suffix == ".bin" and path.stem not in sealed)
            if stale and path.is_file():
                path.unlink()
                removed.append(path.name)
        return removed

    def save(self, step: int, data: bytes) -> str:
        """Write and seal checkpoint ``step``; returns its ``sha256:`` digest (SIGTERM waits for it)."""
        with _signals.critical():
            stem = f"ckpt-{step:08d}"
            tmp, final = self.folder / f"{stem}.bin.tmp", self.folder / f"{stem}.bin"
            with open(tmp, "wb") as fh:
                half = len(data) // 2
                fh.write(data[:half])
                fh.flush()
                faults.point("checkpoint_mid_write")
                fh.write(data[half:])
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, final)
            faults.point("checkpoint_before_manifest")
            digest = self._mirror(step, data)
            _atomic_write(self.folder / f"{stem}.json",
                          json.dumps({"step": step, "sha256": digest, "size": len(data)}).encode())
            self._record(step, digest, len(data))
            self._prune()
        return digest

    def _mirror(self, step: int, data: bytes) -> str:
        if self.run_id is None:
            return "sha256:" + hashlib.sha256(data).hexdigest()
        return context.get_artifacts().put_bytes(data).sha256

    def _record(self, step: int, digest: str, size: int) -> None:
        if self.run_id is None:
            return
        with context.get_db().write() as conn:
            insert_ignore(conn, checkpoints_table, {"run_id": self.run_id, "step": step, "digest": digest,
                                                    "size": size, "created_at": clock.now()})

    def _prune(self) -> None:
        for manifest in sorted(self.folder.glob("ckpt-*.json"))[:-KEEP_LOCAL]:
            manifest.unlink(missing_ok=True)
            manifest.with_suffix(".bin").unlink(missing_ok=True)

    def latest(self) -> Checkpoint | None:
        """The newest checkpoint whose bytes verify (local first, then the artifact store), or None."""
        for step, digest in self._candidates():
            found = self._load_local(step, digest) or self._load_stored(digest)
            if found is not None:
                return Checkpoint(step, digest, found)
        return None

    def _candidates(self) -> list[tuple[int, str]]:
        seen: dict[int, str] = {}
        for path in self.folder.glob("ckpt-*.json"):
            try:
                manifest = json.loads(path.read_bytes())
                seen[int(manifest["step"])] = str(manifest["sha256"])
            except (ValueError, KeyError, TypeError):
                continue
        if self.run_id is not None:
            for step, digest in stored_checkpoints(self.run_id):
                seen.setdefault(step, digest)
        return sorted(seen.items(), reverse=True)

    def _load_local(self, step: int, digest: str) -> bytes | None:
        path = self.folder / f"ckpt-{step:08d}.bin"
        if not path.is_file():
            return None
        data = path.read_bytes()
        return data if "sha256:" + hashlib.sha256(data).hexdigest() == digest else None

    def _load_stored(self, digest: str) -> bytes | None:
        if self.run_id is None:
            return None
        try:
            return context.get_artifacts().get_bytes(digest)
        except (ArtifactCorrupted, NotFoundError, OSError):
            return None


def stored_checkpoints(run_id: str) -> list[tuple[int, str]]:
    """``(step, digest)`` of every sealed checkpoint of a run in the metadata store, newest first."""
    query = (sa.select(checkpoints_table.c.step, checkpoints_table.c.digest)
             .where(checkpoints_table.c.run_id == run_id).order_by(checkpoints_table.c.step.desc()))
    with context.get_db().read() as conn:
        return [(r.step, r.digest) for r in conn.execute(query)]


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
