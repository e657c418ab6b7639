"""Artifact bookkeeping, the integrity checker (``loopml fsck``) and the garbage collector (``loopml gc``).

A blob is alive while a record names it: :mod:`loopml.core.references` asks every stage's providers,
and :mod:`loopml.core._reachability` follows folder manifests and JSON documents from there. ``fsck``
re-hashes every reachable blob and names the record behind each missing or corrupted one; ``gc`` deletes
only blobs nothing reaches, and only once they are older than the grace period.

Writers put the blob first, then commit the rows that name it (``record_artifact`` for artifacts a user
holds by digest alone). A crash between the two leaves an orphan blob (harmless, reported, collected)
but never a row that points at a missing blob. A writer whose bytes are already stored refreshes the
blob's modification time, so the grace period protects it until its row commits.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loopml.core import audit, checks, clock, faults, leases, logs
from loopml.core._reachability import Finding, Reachability, walk
from loopml.core._tables import artifacts
from loopml.core.artifacts import ArtifactRef, ArtifactStore
from loopml.core.blobs import LocalBlobStore
from loopml.core.db import Database
from loopml.core.references import collect, forget_stale
from loopml.core.rows import insert_ignore
from loopml.errors import ConflictError, IntegrityError, StaleEpoch

GC_LEASE = "gc"
_log = logs.stage_logger("core")
_GC_TTL = 300.0


def record_artifact(conn: Connection, ref: ArtifactRef, *, media_type: str, actor: str) -> None:
    """Record that the platform holds ``ref`` (idempotent); call in the transaction that uses it."""
    insert_ignore(
        conn, artifacts,
        {"digest": ref.sha256, "size": ref.size, "media_type": media_type,
         "created_at": clock.now(), "created_by": actor},
    )


def recorded_media_type(conn: Connection, digest: str) -> str | None:
    """The media type recorded for an artifact (``record_artifact``), or None when none was recorded."""
    value = conn.execute(sa.select(artifacts.c.media_type).where(artifacts.c.digest == digest)).scalar()
    return None if value is None else str(value)


@dataclass
class FsckReport:
    """What ``fsck`` found. ``ok`` is False on any missing or corrupted blob or file, or a broken audit chain.

    ``problems`` holds one line per record and bad blob, e.g.
    ``model churn:1 file model/model.ubj: sha256:… corrupted``.
    """

    checked: int = 0
    missing: list[str] = field(default_factory=list)
    corrupted: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
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


def reachable(db: Database, store: ArtifactStore) -> Reachability:
    """Every blob and file the records reach, with the records that reach each."""
    present = dict(store.digests())
    with db.read() as conn:
        found = collect(conn)
    return walk(store, found, present)


def fsck(db: Database, store: ArtifactStore, *, deep: bool = True) -> FsckReport:
    """Check every reachable blob (and feature file) against its hash, and the audit chain.

    Args:
        deep: re-hash every blob (slow on large stores); otherwise only check presence.
    """
    report = FsckReport()
    with db.read() as conn:
        result = audit.verify(conn)
        report.expired_leases = [lease.key for lease in leases.expired(conn, "")]
    report.audit_ok, report.audit_reason = result.ok, result.reason
    reach = reachable(db, store)
    findings = reach.check(deep=deep)
    report.checked = reach.checked
    report.missing = sorted({f.digest for f in findings if f.problem == "missing"})
    report.corrupted = sorted({f.digest for f in findings if f.problem == "corrupted"})
    report.problems = [str(f) for f in findings]
    report.orphans = sorted(set(reach.present) - set(reach.holders))
    if isinstance(store.blobs, LocalBlobStore):
        report.temp_files = sum(1 for _ in store.blobs.tmp.glob("*.part"))
    return report


def gc(db: Database, store: ArtifactStore, *, grace_seconds: float = 3600.0) -> list[str]:
    """Delete the blobs no record reaches that are older than ``grace_seconds``; returns their digests.

    The grace period protects a blob whose writer has stored it but not yet committed the row naming it
    (its age is read just before deleting: file mtime, or the object's LastModified on S3). One gc runs at
    a time (a lease); abandoned temp files older than the grace period go too.

    Raises:
        ConflictError: another gc is running.
        IntegrityError: a folder manifest a record needs is missing or corrupted, so the files it names
            are unknown; nothing is deleted.
    """
    grace_seconds = checks.number(grace_seconds, "grace_seconds", low=0, high=checks.TEN_YEARS)
    lease = _take_gc_lease(db)
    try:
        reach = reachable(db, store)
        if reach.unreadable:
            raise IntegrityError(_unreadable_message(reach.unreadable))
        deleted = _delete_unreached(db, store, reach, lease, grace_seconds)
        forgotten = sum(forget_stale(db).values())
        logs.log_event(_log, "gc.deleted", blobs=len(deleted), grace_seconds=grace_seconds, forgotten=forgotten)
    finally:
        with db.write() as conn:
            leases.release(conn, lease)
    if isinstance(store.blobs, LocalBlobStore):
        store.blobs.clean_temp(older_than=grace_seconds)
    return deleted


def _delete_unreached(db: Database, store: ArtifactStore, reach: Reachability, lease: leases.Lease,
                      grace_seconds: float) -> list[str]:
    deleted: list[str] = []
    renewed = time.monotonic()
    faults.point("gc_before_delete")
    for digest in sorted(set(reach.present) - set(reach.holders)):
        if time.monotonic() - renewed > _GC_TTL / 5:
            lease, renewed = _renew(db, lease), time.monotonic()
        age = store.age(digest)
        if age is not None and age >= grace_seconds:
            store.delete(digest)
            deleted.append(digest)
    return deleted


def _take_gc_lease(db: Database) -> leases.Lease:
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    with db.write() as conn:
        lease = leases.acquire_from_dead(conn, GC_LEASE, owner, ttl=_GC_TTL)
        holder = None if lease else leases.holder(conn, GC_LEASE)
    if lease is None:
        who = f" ({holder.owner}, lease until {holder.expires_at:%H:%M:%S} UTC)" if holder else ""
        raise ConflictError(f"another 'loopml gc' is running{who}; wait for it to finish, then run gc again")
    return lease


def _renew(db: Database, lease: leases.Lease) -> leases.Lease:
    try:
        with db.write() as conn:
            return leases.renew(conn, lease, ttl=_GC_TTL)
    except StaleEpoch as exc:
        raise ConflictError("this gc lost its lease to another gc and stopped; run gc again") from exc


def _unreadable_message(findings: list[Finding]) -> str:
    first = findings[0]
    more = f" (and {len(findings) - 1} more)" if len(findings) > 1 else ""
    return (f"gc deleted nothing: {first}{more}, so the files that folder names are unknown; restore it "
            "from a copy or delete the record, check with 'loopml fsck', then run gc again")


__all__ = ["FsckReport", "Reachability", "fsck", "gc", "reachable", "record_artifact"]
