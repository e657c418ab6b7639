"""Artifact bookkeeping and the integrity checker (``loopml fsck``) and garbage collector (``loopml gc``).

Writers put the blob first, then record it (``record_artifact``) in the same transaction as the rows that
refer to it. A crash between the two leaves an orphan blob (harmless, reported, collected) but never a
row that points at a missing blob.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loopml.core import audit, clock, leases
from loopml.core._blobs import LocalBlobStore
from loopml.core._sql import insert_ignore
from loopml.core._tables import artifacts
from loopml.core.artifacts import ArtifactRef, ArtifactStore
from loopml.core.db import Database


def record_artifact(conn: Connection, ref: ArtifactRef, *, media_type: str, actor: str) -> None:
    """Record that the platform holds ``ref`` (idempotent); call in the transaction that uses it."""
    insert_ignore(
        conn, artifacts,
        {"digest": ref.sha256, "size": ref.size, "media_type": media_type,
         "created_at": clock.now(), "created_by": actor},
    )


@dataclass
class FsckReport:
    """What ``fsck`` found. ``ok`` is False on any missing or corrupted blob, or a broken audit chain."""

    checked: int = 0
    missing: list[str] = field(default_factory=list)
    corrupted: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    expired_leases: list[str] = field(default_factory=list)
    temp_files: int = 0
    audit_ok: bool = True
    audit_reason: str = ""

    @property
    def ok(self) -> bool:
        return not (self.missing or self.corrupted) and self.audit_ok

    def to_dict(self) -> dict[str, object]:
        return {**self.__dict__, "ok": self.ok}


def fsck(db: Database, store: ArtifactStore, *, deep: bool = True) -> FsckReport:
    """Check that every recorded artifact has a blob whose bytes match, and that the audit chain holds.

    Args:
        deep: re-hash every blob (slow on large stores); otherwise only check presence.
    """
    report = FsckReport()
    with db.read() as conn:
        recorded = dict(conn.execute(sa.select(artifacts.c.digest, artifacts.c.size)).all())
        result = audit.verify(conn)
        report.expired_leases = [lease.key for lease in leases.expired(conn, "")]
    report.audit_ok, report.audit_reason = result.ok, result.reason
    stored = dict(store.digests())
    for digest in sorted(recorded):
        report.checked += 1
        if digest not in stored:
            report.missing.append(digest)
        elif deep and not store.verify(digest):
            report.corrupted.append(digest)
    report.orphans = sorted(set(stored) - set(recorded))
    if isinstance(store.blobs, LocalBlobStore):
        report.temp_files = sum(1 for _ in store.blobs.tmp.glob("*.part"))
    return report


def gc(db: Database, store: ArtifactStore, *, grace_seconds: float = 3600.0) -> list[str]:
    """Delete orphan blobs older than ``grace_seconds`` and abandoned temp files; returns deleted digests.

    The grace period protects blobs written by a writer that has not committed its rows yet.
    """
    report = fsck(db, store, deep=False)
    deleted = []
    for digest in report.orphans:
        if _age(store, digest) >= grace_seconds:
            store.delete(digest)
            deleted.append(digest)
    if isinstance(store.blobs, LocalBlobStore):
        store.blobs.clean_temp(older_than=grace_seconds)
    return deleted


def _age(store: ArtifactStore, digest: str) -> float:
    if isinstance(store.blobs, LocalBlobStore):
        hexdigest = digest.split(":", 1)[1]
        path = store.blobs.root / "sha256" / hexdigest[:2] / hexdigest
        return time.time() - path.stat().st_mtime
    return float("inf")


__all__ = ["FsckReport", "fsck", "gc", "record_artifact"]
