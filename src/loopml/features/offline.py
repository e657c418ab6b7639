"""The offline store: Parquet files partitioned by event date, made visible by a manifest in the metadata DB.

Layout under the root (``<home>/features`` or ``LOOPML_FEATURES``, any fsspec URL)::

    <group>/event_date=2024-05-01/<ingest id>.parquet

A file becomes visible to readers only when the ingest that wrote it commits its manifest row
(``feature_ingests``) in the metadata database, so a crash mid-ingest leaves at most orphan files that no
query reads. Local files are also written under a temporary name, fsynced and renamed. Every row carries
``_write_ts``, the time its ingest committed data; time travel (``as_of``) selects ingests by that time.
"""

from __future__ import annotations

import hashlib
import io
import os
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import fsspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlalchemy as sa

from loopml.core import clock, context
from loopml.core.blobs import storage_options
from loopml.errors import BackendError, StorageFull
from loopml.features._tables import feature_ingests

WRITE_TS = "_write_ts"


def root_url() -> str:
    """Where offline feature data lives: ``LOOPML_FEATURES`` or ``<home>/features``."""
    return context.get_settings().features


def _is_local(url: str) -> bool:
    return "://" not in url or url.startswith("file://")


def _fs_options(url: str) -> dict[str, Any]:
    return storage_options(url)


@dataclass(frozen=True)
class Manifest:
    """One committed ingest: its files (relative keys), rows, write time and whether it re-wrote keys."""

    id: str
    group_version: int
    written_at: datetime
    rows: int
    files: list[dict[str, Any]]
    overlaps: bool


def manifests(group: str, *, as_of: datetime | None = None) -> list[Manifest]:
    """The committed ingests of ``group`` (written at or before ``as_of``), oldest first."""
    ing = feature_ingests.c
    query = sa.select(feature_ingests).where(ing.group_name == group)
    if as_of is not None:
        query = query.where(ing.written_at <= as_of)
    with context.get_db().read() as conn:
        rows = conn.execute(query.order_by(ing.written_at, ing.id)).all()
    return [Manifest(r.id, r.group_version, clock.as_utc(r.written_at), r.rows, r.files, r.overlaps) for r in rows]


def files_of(found: list[Manifest], *, first: date | None = None, last: date | None = None) -> list[str]:
    """Full URLs of the files in ``found`` whose event date lies in ``[first, last]``."""
    root = root_url().rstrip("/")
    out = []
    for manifest in found:
        for item in manifest.files:
            day = date.fromisoformat(item["event_date"])
            if (first is None or day >= first) and (last is None or day <= last):
                out.append(f"{root}/{item['path']}")
    return out


def write_partitions(group: str, ingest_id: str, table: pa.Table, event_time: str) -> list[dict[str, Any]]:
    """Write ``table`` as one Parquet file per event date; return the manifest entries.

    Raises:
        StorageFull: the disk filled up (nothing is left under a final name).
        BackendError: the store failed otherwise.
    """
    days = pc.cast(pc.cast(table[event_time], pa.timestamp("us")), pa.date32())
    entries = []
    for day in pc.unique(days).to_pylist():
        part = table.filter(pc.equal(days, pa.scalar(day, pa.date32())))
        key = f"{group}/event_date={day.isoformat()}/{ingest_id}.parquet"
        data = _parquet_bytes(part)
        _write_file(data, key)
        entries.append({"path": key, "event_date": day.isoformat(), "rows": part.num_rows,
                        "sha256": f"sha256:{hashlib.sha256(data).hexdigest()}", "size": len(data)})
    return entries


def _parquet_bytes(table: pa.Table) -> bytes:
    """The partition as Parquet bytes, hashed before they are written (``loopml fsck`` re-checks them)."""
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def _write_file(data: bytes, key: str) -> None:
    url = f"{root_url().rstrip('/')}/{key}"
    try:
        if _is_local(url):
            _write_local(data, Path(url.removeprefix("file://")))
        else:
            with fsspec.open(url, "wb", **_fs_options(url)) as handle:
                handle.write(data)
    except OSError as exc:
        if exc.errno in (28, 27):  # ENOSPC, EFBIG
            raise StorageFull(f"no space left writing feature data at {url}; free space and re-run the ingest "
                              "(it is idempotent)") from exc
        raise BackendError(f"writing feature data at {url} failed ({type(exc).__name__}); check the store "
                           "and re-run the ingest (it is idempotent)") from exc


def _write_local(data: bytes, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".tmp-{uuid.uuid4().hex}.parquet"
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    finally:
        tmp.unlink(missing_ok=True)


def connect() -> duckdb.DuckDBPyConnection:
    """A DuckDB connection in UTC that can read the offline store (remote stores through fsspec)."""
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    # Registered Arrow tables report ~1 row to the planner, which would turn every ASOF join into a
    # nested-loop join (minutes instead of seconds at 1M rows); always use the real ASOF operator.
    con.execute("SET asof_loop_join_threshold = 0")
    url = root_url()
    if not _is_local(url):
        fs, _ = fsspec.core.url_to_fs(url, **_fs_options(url))
        con.register_filesystem(fs)
    return con


def absent_features(group: str, found: list[Manifest], wanted: list[str]) -> list[str]:
    """Which of ``wanted`` no stored file has (features added by a later version than the data)."""
    from loopml.features.registry import get_feature_group

    stored: set[str] = set()
    for version in {m.group_version for m in found}:
        stored.update(get_feature_group(group, version).group.features)
    return [f for f in wanted if f not in stored]


def scan_sql(files: list[str], columns: list[str], *, dedupe: list[str] | None, union: bool,
             nulls: dict[str, str] | None = None) -> str:
    """SQL for the rows of ``files`` (``columns`` plus ``_write_ts``), latest write per ``dedupe`` key.

    ``nulls`` maps columns no file has to the DuckDB type of the NULLs to put in their place.
    """
    listing = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    nulls = nulls or {}
    cols = ", ".join(f'NULL::{nulls[c]} AS "{c}"' if c in nulls else f'"{c}"' for c in [*columns, WRITE_TS])
    sql = f"SELECT {cols} FROM read_parquet([{listing}], union_by_name={str(union).lower()})"
    if dedupe:
        part = ", ".join(f'"{c}"' for c in dedupe)
        sql += f" QUALIFY row_number() OVER (PARTITION BY {part} ORDER BY {WRITE_TS} DESC) = 1"
    return sql


def empty_sql(schema: dict[str, str]) -> str:
    """SQL for an empty relation with the given DuckDB column types (a group with no data yet)."""
    cols = ", ".join(f'NULL::{t} AS "{c}"' for c, t in {**schema, WRITE_TS: "TIMESTAMPTZ"}.items())
    return f"SELECT {cols} WHERE false"
