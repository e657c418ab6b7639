"""The SQL of the model registry (and nothing else)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loopml.core import clock
from loopml.core.rows import from_row, insert_ignore
from loopml.errors import NotFoundError
from loopml.registry._tables import model_aliases, model_groups, model_transitions, model_versions

PENDING, APPROVED, REJECTED = "PendingManualApproval", "Approved", "Rejected"
STATUSES = (PENDING, APPROVED, REJECTED)
DEFAULT_SETTINGS = {"allow_self_approval": False, "auto_approve": False}


@dataclass(frozen=True)
class ModelVersion:
    """A registered model version (read-only view)."""

    group: str
    version: int
    digest: str
    flavor: str
    signature: dict[str, Any]
    status: str
    approved_digest: str | None
    description: str
    tags: dict[str, str]
    metrics: dict[str, Any]
    evaluation_digest: str | None
    lineage: dict[str, Any]
    card: dict[str, Any]
    created_by: str
    created_at: datetime
    status_changed_by: str | None = None
    status_changed_at: datetime | None = None
    trusted_by: str | None = None

    @property
    def name(self) -> str:
        """``group:version``."""
        return f"{self.group}:{self.version}"

    @property
    def runs_code(self) -> bool:
        """The model is code (a pickle, an inference script, types outside the skops allowlist) that
        ``trusted_by`` vouched for when registering it; replicas load it with ``trust=True``."""
        return self.trusted_by is not None

    @property
    def is_deployable(self) -> bool:
        """Approved, and the approval is bound to these very bytes."""
        return self.status == APPROVED and self.approved_digest == self.digest

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return {**asdict(self), "name": self.name}

    def _repr_html_(self) -> str:
        from loopml.core.fragments import notebook
        from loopml.registry.html import render_version
        from loopml.registry.queries import approval_trail

        return notebook(render_version(self, trail=approval_trail(self.group, self.version)))


@dataclass(frozen=True)
class ModelGroup:
    """A model group and its governance settings."""

    name: str
    description: str
    settings: dict[str, Any]
    created_by: str
    created_at: datetime
    latest_version: int | None = None
    counts: dict[str, int] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


def _version(row: Any) -> ModelVersion:
    return from_row(ModelVersion, row, columns={"group": "group_name"}, utc=("created_at", "status_changed_at"))


def ensure_group(conn: Connection, name: str, *, actor: str, description: str = "") -> bool:
    """Create the group if missing (safe under concurrency). Returns True if this call created it."""
    return insert_ignore(conn, model_groups, {
        "name": name, "description": description, "settings": dict(DEFAULT_SETTINGS),
        "created_by": actor, "created_at": clock.now(),
    })


def lock_group(conn: Connection, name: str) -> ModelGroup:
    """Read the group row, locking it until the transaction ends (serializes version numbering)."""
    row = conn.execute(sa.select(model_groups).where(model_groups.c.name == name).with_for_update()).first()
    if row is None:
        raise NotFoundError(f"no model group {name!r}; 'loopml model list' shows the groups", group=name)
    return ModelGroup(row.name, row.description, {**DEFAULT_SETTINGS, **row.settings}, row.created_by,
                      clock.as_utc(row.created_at))


def get_group(conn: Connection, name: str) -> ModelGroup:
    row = conn.execute(sa.select(model_groups).where(model_groups.c.name == name)).first()
    if row is None:
        raise NotFoundError(f"no model group {name!r}; 'loopml model list' shows the groups", group=name)
    counts: dict[str, int] = dict(conn.execute(
        sa.select(model_versions.c.status, sa.func.count()).where(model_versions.c.group_name == name)
        .group_by(model_versions.c.status)).all())
    latest = conn.execute(sa.select(sa.func.max(model_versions.c.version))
                          .where(model_versions.c.group_name == name)).scalar()
    return ModelGroup(row.name, row.description, {**DEFAULT_SETTINGS, **row.settings}, row.created_by,
                      clock.as_utc(row.created_at), latest, counts, aliases(conn, name))


def list_groups(conn: Connection, *, limit: int, offset: int) -> list[ModelGroup]:
    names = conn.execute(sa.select(model_groups.c.name).order_by(model_groups.c.name).limit(limit).offset(offset))
    return [get_group(conn, n) for n in names.scalars()]


def set_group_settings(conn: Connection, name: str, settings: dict[str, Any]) -> None:
    conn.execute(model_groups.update().where(model_groups.c.name == name).values(settings=settings))


def next_version(conn: Connection, group: str) -> int:
    current = conn.execute(sa.select(sa.func.max(model_versions.c.version))
                           .where(model_versions.c.group_name == group)).scalar()
    return int(current or 0) + 1


def insert_version(conn: Connection, **values: Any) -> None:
    conn.execute(model_versions.insert().values(**values))


def get_version(conn: Connection, group: str, version: int, *, lock: bool = False) -> ModelVersion:
    query = sa.select(model_versions).where(model_versions.c.group_name == group, model_versions.c.version == version)
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFoundError(f"model {group}:{version} does not exist; 'loopml model list {group}' shows its versions",
                            group=group, version=version)
    return _version(row)


def list_versions(conn: Connection, group: str | None, *, status: str | None, limit: int, offset: int,
                  newest_first: bool = True) -> list[ModelVersion]:
    query = sa.select(model_versions)
    if group:
        query = query.where(model_versions.c.group_name == group)
    if status:
        query = query.where(model_versions.c.status == status)
    order = (model_versions.c.version.desc(),) if newest_first else (model_versions.c.version,)
    query = query.order_by(model_versions.c.group_name, *order).limit(limit).offset(offset)
    return [_version(r) for r in conn.execute(query)]


def latest_with_status(conn: Connection, group: str, status: str, *, before: int | None = None) -> ModelVersion | None:
    query = sa.select(model_versions).where(model_versions.c.group_name == group, model_versions.c.status == status)
    if before is not None:
        query = query.where(model_versions.c.version < before)
    row = conn.execute(query.order_by(model_versions.c.version.desc()).limit(1)).first()
    return _version(row) if row else None


def set_status(conn: Connection, version: ModelVersion, to: str, *, actor: str, note: str) -> bool:
    """Compare-and-swap the status; False when another writer changed it first."""
    now = clock.now()
    result = conn.execute(
        model_versions.update()
        .where(model_versions.c.group_name == version.group, model_versions.c.version == version.version,
               model_versions.c.status == version.status)
        .values(status=to, status_changed_by=actor, status_changed_at=now,
                approved_digest=version.digest if to == APPROVED else None)
    )
    if not result.rowcount:
        return False
    add_transition(conn, version.group, version.version, version.status, to, actor=actor, note=note)
    return True


def add_transition(conn: Connection, group: str, version: int, frm: str | None, to: str, *, actor: str,
                   note: str) -> None:
    conn.execute(model_transitions.insert().values(
        group_name=group, version=version, from_status=frm, to_status=to, actor=actor, at=clock.now(), note=note))


def transitions(conn: Connection, group: str, version: int) -> list[dict[str, Any]]:
    rows = conn.execute(sa.select(model_transitions).where(
        model_transitions.c.group_name == group, model_transitions.c.version == version)
        .order_by(model_transitions.c.id))
    return [{"from": r.from_status, "to": r.to_status, "actor": r.actor, "at": clock.as_utc(r.at).isoformat(),
             "note": r.note} for r in rows]


def update_version(conn: Connection, group: str, version: int, **values: Any) -> None:
    conn.execute(model_versions.update().where(
        model_versions.c.group_name == group, model_versions.c.version == version).values(**values))


def get_alias(conn: Connection, group: str, alias: str) -> int | None:
    return conn.execute(sa.select(model_aliases.c.version).where(
        model_aliases.c.group_name == group, model_aliases.c.alias == alias)).scalar()


def swap_alias(conn: Connection, group: str, alias: str, version: int, *, expected: int | None, actor: str) -> bool:
    """Point ``alias`` at ``version`` only if it still points at ``expected`` (None: unset)."""
    now = clock.now()
    if expected is None:
        return insert_ignore(conn, model_aliases, {"group_name": group, "alias": alias, "version": version,
                                                   "updated_by": actor, "updated_at": now})
    result = conn.execute(model_aliases.update().where(
        model_aliases.c.group_name == group, model_aliases.c.alias == alias, model_aliases.c.version == expected,
    ).values(version=version, updated_by=actor, updated_at=now))
    return bool(result.rowcount)


def aliases(conn: Connection, group: str) -> dict[str, int]:
    rows = conn.execute(sa.select(model_aliases.c.alias, model_aliases.c.version)
                        .where(model_aliases.c.group_name == group))
    return {r.alias: r.version for r in rows}


def drop_alias(conn: Connection, group: str, alias: str) -> bool:
    return bool(conn.execute(model_aliases.delete().where(
        model_aliases.c.group_name == group, model_aliases.c.alias == alias)).rowcount)


def delete_group(conn: Connection, name: str) -> int:
    for table in (model_aliases, model_transitions, model_versions):
        conn.execute(table.delete().where(table.c.group_name == name))
    return conn.execute(model_groups.delete().where(model_groups.c.name == name)).rowcount
