"""Ingesting feature values: validate, append to the offline store, commit a manifest, upsert online."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import duckdb
import pandas as pd
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loopml.core import audit, clock, context, faults, ids
from loopml.errors import ValidationError
from loopml.features import offline
from loopml.features._tables import feature_groups, feature_ingests
from loopml.features._validate import DUCK_TYPES, TIMESTAMP, to_arrow
from loopml.features.group import FeatureGroup, FeatureGroupInfo
from loopml.features.online import OnlineRow, OnlineStore, online_rows_sql, open_online_store
from loopml.features.registry import get_feature_group


@dataclass(frozen=True)
class IngestResult:
    """What an ingest did: rows received, new rows written (0 when all were there already), files."""

    group: str
    version: int
    ingest_id: str | None
    rows_received: int
    rows_written: int
    written_at: datetime | None
    files: list[str]
    online_rows: int

    @property
    def rows_skipped(self) -> int:
        """Rows already stored with the same values (re-ingesting is idempotent)."""
        return self.rows_received - self.rows_written

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "written_at": None if self.written_at is None else self.written_at.isoformat(),
                "rows_skipped": self.rows_skipped}


def resolve(group: str | FeatureGroup) -> FeatureGroupInfo:
    """The registered version of ``group`` (a name, or a definition that must have been registered)."""
    if isinstance(group, str):
        return get_feature_group(group)
    info = get_feature_group(group.name)
    if info.definition_hash != group.definition_hash:
        raise ValidationError(
            f"this definition of feature group {group.name!r} is not its latest registered version "
            f"(v{info.version}); call register_feature_group(...) first", group=group.name,
        )
    return info


def _cols(names: list[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)


def _dedupe_batch(con: duckdb.DuckDBPyConnection, group: FeatureGroup) -> None:
    """Drop exact duplicate rows; refuse two different rows for the same entity and event time."""
    pk = [*group.key_names, group.event_time]
    con.execute("CREATE TEMP TABLE batch AS SELECT DISTINCT * FROM batch_in")
    clash = con.execute(f"SELECT {_cols(pk)}, count(*) AS n FROM batch GROUP BY ALL HAVING n > 1 LIMIT 1").fetchone()
    if clash is not None:
        where = dict(zip(pk, clash[:-1], strict=True))
        raise ValidationError(
            f"the data has {clash[-1]} different rows for the same entity and event time {where}; keep one row "
            "per entity and event time (nothing was written)", group=group.name, row=where,
        )


def _fresh_rows(con: duckdb.DuckDBPyConnection, group: FeatureGroup, files: list[str],
                found: list[offline.Manifest]) -> bool:
    """Keep in ``fresh`` the batch rows not already stored with equal values; return whether any re-writes
    an (entity, event time) that is stored with other values."""
    pk = [*group.key_names, group.event_time]
    if not files:
        con.execute("CREATE TEMP TABLE fresh AS SELECT * FROM batch")
        return False
    cols = [*pk, *group.feature_names]
    absent = offline.absent_features(group.name, found, group.feature_names)
    nulls = {f: DUCK_TYPES[group.features[f]] for f in absent}
    dedupe = any(m.overlaps for m in found)
    stored = offline.scan_sql(files, cols, dedupe=pk if dedupe else None, union=True, nulls=nulls)
    con.execute(f"CREATE TEMP TABLE stored AS {stored}")
    same = " AND ".join(f'b."{c}" IS NOT DISTINCT FROM s."{c}"' for c in cols)
    con.execute(f"CREATE TEMP TABLE fresh AS SELECT b.* FROM batch b ANTI JOIN stored s ON {same}")
    on_pk = " AND ".join(f'f."{c}" = s."{c}"' for c in pk)
    # count(*) always returns exactly one row
    counted = cast(tuple[int], con.execute(f"SELECT count(*) FROM fresh f SEMI JOIN stored s ON {on_pk}").fetchone())
    return bool(counted[0])


def ingest(group: str | FeatureGroup, df: pd.DataFrame, *, online: bool = True,
           store: OnlineStore | None = None) -> IngestResult:
    """Validate ``df`` against the group, append new rows to the offline store and upsert the online store.

    A mismatch writes nothing and names the column. Rows already stored with the same values are skipped,
    so re-ingesting is idempotent. Files become visible to readers only when the manifest commits, so a
    crash mid-ingest leaves nothing half-visible; re-running it is safe.

    Args:
        group: the feature group name (or its registered definition).
        df: entity keys, the event time column (timezone-aware) and every feature.
        online: also upsert the latest value per entity into the online store.
        store: the online store (default: ``LOOPML_ONLINE``).

    Returns:
        What was written.

    Raises:
        ValidationError: missing or unknown columns, wrong types, naive or missing timestamps, null keys,
            or two different rows for one entity and event time.
    """
    info = resolve(group)
    fg = info.group
    table = to_arrow(df, fg)
    con = offline.connect()
    con.register("batch_in", table)
    _dedupe_batch(con, fg)
    days = [r[0] for r in con.execute(f'SELECT DISTINCT CAST("{fg.event_time}" AS DATE) FROM batch').fetchall()]
    found = offline.manifests(fg.name)
    files = offline.files_of(found, first=min(days), last=max(days)) if days else []
    overlaps = _fresh_rows(con, fg, files, found)
    fresh = con.execute(f"SELECT * FROM fresh ORDER BY {_cols([fg.event_time, *fg.key_names])}").fetch_arrow_table()
    if fresh.num_rows == 0:
        return IngestResult(fg.name, info.version, None, table.num_rows, 0, None, [], 0)
    return _commit(info, con, fresh, overlaps, received=table.num_rows, online=online, store=store,
                   seen={m.id for m in found})


def _commit(info: FeatureGroupInfo, con: duckdb.DuckDBPyConnection, fresh: pa.Table, overlaps: bool, *,
            received: int, online: bool, store: OnlineStore | None, seen: set[str]) -> IngestResult:
    fg, ingest_id, written_at = info.group, ids.new_id("fi"), clock.now()
    fresh = fresh.append_column(offline.WRITE_TS, pa.array([written_at] * fresh.num_rows, TIMESTAMP))
    entries = offline.write_partitions(fg.name, ingest_id, fresh, fg.event_time)
    faults.point("feature_ingest_files_written")
    user = context.current_user()
    with context.get_db().write() as conn:
        overlaps = overlaps or _raced(conn, fg.name, seen)
        conn.execute(feature_ingests.insert().values(
            id=ingest_id, group_name=fg.name, group_version=info.version, written_at=written_at,
            rows=fresh.num_rows, files=entries, content_hash=_content_hash(fresh), overlaps=overlaps,
            created_by=user))
        audit.append(conn, actor=user, action="feature_group.ingest", resource=f"feature_group:{fg.name}",
                     details={"ingest_id": ingest_id, "rows": fresh.num_rows, "files": len(entries)})
    online_rows = _upsert_online(fg, con, fresh, store) if online else 0
    return IngestResult(fg.name, info.version, ingest_id, received, fresh.num_rows, written_at,
                        [e["path"] for e in entries], online_rows)


def _raced(conn: Connection, group: str, seen: set[str]) -> bool:
    """Whether another ingest of ``group`` committed since this one read the manifests. Its rows were not
    compared with ours, so ours are marked as possibly re-writing keys (readers then de-duplicate)."""
    conn.execute(sa.select(feature_groups.c.id).where(feature_groups.c.name == group).with_for_update())
    ids_now = conn.execute(sa.select(feature_ingests.c.id).where(feature_ingests.c.group_name == group)).scalars()
    return bool(set(ids_now) - seen)


def _content_hash(table: pa.Table) -> str:
    digest = hashlib.sha256()
    for batch in table.drop_columns([offline.WRITE_TS]).to_batches():
        for column in batch.columns:
            for buf in column.buffers():
                if buf is not None:
                    digest.update(buf)
    return digest.hexdigest()


def _upsert_online(fg: FeatureGroup, con: duckdb.DuckDBPyConnection, fresh: pa.Table,
                   store: OnlineStore | None) -> int:
    con.register("written", fresh)
    latest = (f"SELECT * FROM written QUALIFY row_number() OVER (PARTITION BY {_cols(fg.key_names)} "
              f'ORDER BY "{fg.event_time}" DESC) = 1')
    rows = con.execute(online_rows_sql(fg, latest)).fetchall()
    (store or open_online_store()).write_batch(fg.name, [OnlineRow(*r) for r in rows])
    return len(rows)
