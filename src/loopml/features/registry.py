"""Registering, looking up and describing feature groups in the metadata store."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loopml.core import audit, clock, context, ids
from loopml.errors import ConflictError, NotFoundError, ValidationError
from loopml.features._tables import feature_groups, feature_ingests, feature_watermarks
from loopml.features.group import FeatureGroup, FeatureGroupInfo

_CACHE_SECONDS = 2.0
_cache: dict[tuple[int, str], tuple[float, FeatureGroupInfo]] = {}


def _info(row: Any) -> FeatureGroupInfo:
    return FeatureGroupInfo(
        group=FeatureGroup.from_dict(row.definition), version=row.version,
        definition_hash=row.definition_hash, created_at=clock.as_utc(row.created_at), created_by=row.created_by,
    )


def _latest(conn: Connection, name: str) -> Any:
    query = sa.select(feature_groups).where(feature_groups.c.name == name)
    return conn.execute(query.order_by(feature_groups.c.version.desc()).limit(1)).first()


def _check_compatible(old: FeatureGroup, new: FeatureGroup) -> None:
    changed = [attr for attr in ("entity_keys", "event_time") if getattr(old, attr) != getattr(new, attr)]
    changed += [f"features.{n}" for n, t in new.features.items() if n in old.features and old.features[n] != t]
    if changed:
        raise ConflictError(
            f"feature group {new.name!r} cannot change {changed} in a new version: data already written "
            "would no longer match; add new features instead, or register the group under a new name",
            group=new.name, changed=changed,
        )


def _definition(group: FeatureGroup | str) -> FeatureGroup:
    if isinstance(group, FeatureGroup):
        return group
    from loopml.pipelines import load_ref

    found = load_ref(group)
    if not isinstance(found, FeatureGroup):
        raise ValidationError(f"{group!r} is a {type(found).__name__}, not a FeatureGroup; pass MODULE:NAME of a "
                              "FeatureGroup object")
    return found


def register_feature_group(group: FeatureGroup | str) -> FeatureGroupInfo:
    """Store a feature group definition; a definition with a new hash becomes the next version.

    Registering the same definition again is a no-op that returns the existing version. A new version may
    add or drop features and change descriptions, TTL and owner; it may not change entity keys, the
    event time column or a feature's type.

    Args:
        group: the definition, or where it is defined: ``MODULE:NAME`` or ``path/file.py:NAME``.

    Returns:
        The registered version.

    Raises:
        ConflictError: the definition changes keys, event time or a feature type.
        NotFoundError: the module or name of ``MODULE:NAME`` does not exist.
        ValidationError: ``MODULE:NAME`` names something that is not a :class:`FeatureGroup`.
    """
    group = _definition(group)
    digest = group.definition_hash
    with context.get_db().write() as conn:
        latest = _latest(conn, group.name)
        if latest is not None and latest.definition_hash == digest:
            return _info(latest)
        existing = conn.execute(sa.select(feature_groups).where(
            feature_groups.c.name == group.name, feature_groups.c.definition_hash == digest)).first()
        if existing is not None:
            return _info(existing)
        if latest is not None:
            _check_compatible(FeatureGroup.from_dict(latest.definition), group)
        version = 1 if latest is None else latest.version + 1
        created_at, created_by = clock.now(), context.current_user()
        row = {"id": ids.new_id("fg"), "name": group.name, "version": version, "definition_hash": digest,
               "definition": group.to_dict(), "created_at": created_at, "created_by": created_by}
        conn.execute(feature_groups.insert().values(**row))
        audit.append(conn, actor=created_by, action="feature_group.register",
                     resource=f"feature_group:{group.name}@{version}", details={"definition_hash": digest})
    _cache.clear()
    return FeatureGroupInfo(group, version, digest, created_at, created_by)


def get_feature_group(name: str, version: int | None = None) -> FeatureGroupInfo:
    """The registered feature group ``name`` (its latest version unless ``version`` is given).

    Raises:
        NotFoundError: no such group or version.
    """
    with context.get_db().read() as conn:
        if version is None:
            row = _latest(conn, name)
        else:
            row = conn.execute(sa.select(feature_groups).where(
                feature_groups.c.name == name, feature_groups.c.version == version)).first()
    if row is None:
        known = [info.name for info in list_feature_groups()]
        what = f"feature group {name!r}" + ("" if version is None else f" version {version}")
        raise NotFoundError(
            f"{what} is not registered; registered groups are {known[:20]}; "
            "register it with register_feature_group(FeatureGroup(...))",
            group=name, version=version,
        )
    return _info(row)


def cached_feature_group(name: str) -> FeatureGroupInfo:
    """Like :func:`get_feature_group` but served from a per-process cache for up to 2 s (online reads)."""
    key = (id(context.get_db()), name)
    hit = _cache.get(key)
    if hit is not None and time.monotonic() - hit[0] < _CACHE_SECONDS:
        return hit[1]
    info = get_feature_group(name)
    _cache[key] = (time.monotonic(), info)
    return info


def list_feature_groups() -> list[FeatureGroupInfo]:
    """The latest version of every registered feature group, by name."""
    with context.get_db().read() as conn:
        rows = conn.execute(sa.select(feature_groups).order_by(
            feature_groups.c.name, feature_groups.c.version.desc())).all()
    latest: dict[str, FeatureGroupInfo] = {}
    for row in rows:
        latest.setdefault(row.name, _info(row))
    return list(latest.values())


@dataclass(frozen=True)
class FeatureGroupStats:
    """What is stored for a group: versions, ingests, offline rows, time range, watermarks per online store."""

    info: FeatureGroupInfo
    versions: int
    ingests: int
    offline_rows: int
    last_ingest_at: datetime | None
    watermarks: dict[str, datetime]

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.info.to_dict(), "versions": self.versions, "ingests": self.ingests,
            "offline_rows": self.offline_rows,
            "last_ingest_at": None if self.last_ingest_at is None else self.last_ingest_at.isoformat(),
            "watermarks": {k: v.isoformat() for k, v in self.watermarks.items()},
        }


def describe_feature_group(name: str) -> FeatureGroupStats:
    """The latest definition of ``name`` with what has been ingested and materialized.

    Raises:
        NotFoundError: no such group.
    """
    info = get_feature_group(name)
    ing = feature_ingests.c
    with context.get_db().read() as conn:
        versions = conn.execute(sa.select(sa.func.count()).where(feature_groups.c.name == name)).scalar_one()
        count, rows, last = conn.execute(sa.select(
            sa.func.count(), sa.func.coalesce(sa.func.sum(ing.rows), 0), sa.func.max(ing.written_at),
        ).where(ing.group_name == name)).one()
        marks = conn.execute(sa.select(feature_watermarks.c.store, feature_watermarks.c.watermark).where(
            feature_watermarks.c.group_name == name)).all()
    return FeatureGroupStats(
        info, versions, count, int(rows), None if last is None else clock.as_utc(last),
        {m.store: clock.as_utc(m.watermark) for m in marks},
    )
