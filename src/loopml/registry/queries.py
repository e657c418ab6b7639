"""Reading the registry: versions, groups, resolution of ``group@approved`` style references, and
verified retrieval of a version's model files."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from loopml.core import audit, checks, context
from loopml.errors import ArtifactCorrupted, NotFoundError, ValidationError
from loopml.registry import _records
from loopml.registry._records import APPROVED, STATUSES, ModelGroup, ModelVersion

_REF = re.compile(r"^(?P<group>[A-Za-z0-9_.\-]+)(?:(?::(?P<version>\d+))|(?:@(?P<alias>[A-Za-z0-9_\-]+)))?$")


def parse_ref(ref: str) -> tuple[str, int | None, str | None]:
    """Split ``group:3``, ``group@approved``, ``group@latest``, ``group@production`` or ``group``."""
    match = _REF.match(ref.strip())
    if not match:
        raise ValidationError(f"{ref!r} is not a model reference; use GROUP:VERSION, GROUP@approved or GROUP@latest")
    version = match.group("version")
    number = checks.version(int(version), f"version in {ref!r}") if version else None
    return match.group("group"), number, match.group("alias")


def get_version(group: str, version: int) -> ModelVersion:
    """One version; :class:`NotFoundError` names what exists."""
    with context.get_db().read() as conn:
        return _records.get_version(conn, group, version)


def resolve(ref: str) -> ModelVersion:
    """Resolve ``group:3``, ``group@approved`` (latest Approved), ``group@latest``, or an alias."""
    group, version, alias = parse_ref(ref)
    with context.get_db().read() as conn:
        if version is not None:
            return _records.get_version(conn, group, version)
        _records.get_group(conn, group)
        alias = alias or "latest"
        if alias == "approved":
            found = _records.latest_with_status(conn, group, APPROVED)
            if found is None:
                raise NotFoundError(f"model group {group!r} has no Approved version yet", group=group)
            return found
        if alias == "latest":
            versions = _records.list_versions(conn, group, status=None, limit=1, offset=0)
            if not versions:
                raise NotFoundError(f"model group {group!r} has no versions", group=group)
            return versions[0]
        number = _records.get_alias(conn, group, alias)
        if number is None:
            raise NotFoundError(f"model group {group!r} has no alias {alias!r}", group=group)
        return _records.get_version(conn, group, number)


def list_versions(group: str | None = None, *, status: str | None = None, limit: int = 50,
                  offset: int = 0) -> list[ModelVersion]:
    """Versions, newest first, optionally of one group and one status (paginated)."""
    if status is not None and status not in STATUSES:
        raise ValidationError(f"unknown status {status!r}; statuses are {', '.join(STATUSES)}")
    limit, offset = checks.page(limit, offset)
    with context.get_db().read() as conn:
        if group:
            _records.get_group(conn, group)
        return _records.list_versions(conn, group, status=status, limit=limit, offset=offset)


def list_groups(*, limit: int = 50, offset: int = 0) -> list[ModelGroup]:
    """Model groups with their latest version and counts by status."""
    limit, offset = checks.page(limit, offset)
    with context.get_db().read() as conn:
        return _records.list_groups(conn, limit=limit, offset=offset)


def get_group(name: str) -> ModelGroup:
    with context.get_db().read() as conn:
        return _records.get_group(conn, name)


def latest_approved(group: str) -> ModelVersion | None:
    """The newest Approved version of ``group``, or None."""
    with context.get_db().read() as conn:
        _records.get_group(conn, group)
        return _records.latest_with_status(conn, group, APPROVED)


def previous_approved(group: str, version: int) -> ModelVersion | None:
    """The newest Approved version older than ``version`` (the rollback target), or None."""
    with context.get_db().read() as conn:
        return _records.latest_with_status(conn, group, APPROVED, before=version)


def approval_trail(group: str, version: int) -> list[dict[str, Any]]:
    """Every status change of a version: from, to, who, when, note."""
    with context.get_db().read() as conn:
        _records.get_version(conn, group, version)
        return _records.transitions(conn, group, version)


def fetch_model(version: ModelVersion, dest: str | Path) -> Path:
    """Copy a version's model folder to ``dest``, verifying every byte against its digest first.

    Raises:
        ArtifactCorrupted: the stored bytes changed; an ``artifact.integrity_failure`` audit event is written
            and nothing is left at ``dest``.
    """
    try:
        return context.get_artifacts().get_dir(version.digest, dest)
    except ArtifactCorrupted as exc:
        with context.get_db().write() as conn:
            audit.append(conn, actor=context.current_user(), action="artifact.integrity_failure",
                         resource=f"model:{version.group}/{version.version}",
                         details={"digest": version.digest, "error": exc.message})
        raise


def load_model(ref: str | ModelVersion, *, trust: bool = False) -> Any:
    """Resolve, fetch (verified) and load a model version in this process.

    Loading runs model code paths; serving loads models only in sandboxed replica processes.
    """
    from loopml import models

    version = resolve(ref) if isinstance(ref, str) else ref
    folder = Path(tempfile.mkdtemp(prefix="loopml-model-")) / "model"
    return models.load(fetch_model(version, folder), trust=trust)
