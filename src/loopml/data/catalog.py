"""The data catalog: named datasets, versioned by content, stored as Parquet in the artifact store.

A dataset version is identified by the hash of its content; registering the same content again returns
the existing version, and a new version number is given only when the content changed. Every
registration writes an audit event in the same transaction as the catalog row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import pandas as pd
import pyarrow as pa
import sqlalchemy as sa

from loopml.core import audit, checks, clock, context, ids, names
from loopml.core.hashing import sha256_file
from loopml.data import _io
from loopml.data._tables import dataset_versions as _t
from loopml.data.schema import ColumnSchema, infer_schema
from loopml.errors import NotFoundError, ValidationError

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,62}")
_RETRIES = 3


@dataclass(frozen=True)
class DatasetVersion:
    """One immutable version of a dataset in the catalog.

    Attributes:
        name: the dataset name (also its table name in :func:`loopml.data.sql`).
        version: 1, 2, ... in registration order; a new number only when the content changed.
        content_hash: sha256 of the content (schema and values), the version's identity.
        sha256: the digest of the stored Parquet artifact (``sha256:<hex>``).
        size: bytes of the Parquet artifact.
        rows: number of rows.
        format: what it was registered from: ``csv``, ``parquet``, ``jsonl``, ``sql`` or ``dataframe``.
        source: the file it was read from, if any.
        sql: the query it was computed by, if any.
        description: free text.
        schema: the inferred column schemas.
        lineage: where it came from (the source file's digest, or the input dataset versions of a query).
        created_at: when it was registered (UTC).
        created_by: who registered it.
    """

    id: str
    name: str
    version: int
    content_hash: str
    sha256: str
    size: int
    rows: int
    format: str
    source: str | None
    sql: str | None
    description: str | None
    schema: tuple[ColumnSchema, ...]
    lineage: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    created_by: str = ""

    @property
    def ref(self) -> str:
        """``name@version``, the way other records point at this version."""
        return f"{self.name}@{self.version}"

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "schema"}
        out["schema"] = [c.to_dict() for c in self.schema]
        out["created_at"] = self.created_at.isoformat() if self.created_at else None
        return out


def _row_to_version(row: Any) -> DatasetVersion:
    created = row.created_at
    if created is not None and created.tzinfo is None:
        created = created.replace(tzinfo=clock.now().tzinfo)
    return DatasetVersion(
        id=row.id, name=row.name, version=row.version, content_hash=row.content_hash,
        sha256=row.artifact_sha256, size=row.size, rows=row.rows, format=row.format, source=row.source,
        sql=row.sql, description=row.description,
        schema=tuple(ColumnSchema.from_dict(c) for c in row.schema), lineage=dict(row.lineage or {}),
        created_at=created, created_by=row.created_by,
    )


def check_name(name: str) -> str:
    """Return ``name`` if it is a valid dataset name, else raise :class:`ValidationError`."""
    return names.check("dataset", name, narrower=_NAME, rule="1-63 ASCII letters, digits and underscores, "
                       "starting with a letter (it is the table name in SQL)", example="customers")


# -- reading the catalog ---------------------------------------------------------------------------
def list_datasets() -> list[DatasetVersion]:
    """The latest version of every dataset, sorted by name."""
    latest = sa.select(_t.c.name, sa.func.max(_t.c.version).label("v")).group_by(_t.c.name).subquery()
    query = sa.select(_t).join(latest, sa.and_(_t.c.name == latest.c.name, _t.c.version == latest.c.v))
    with context.get_db().read() as conn:
        rows = conn.execute(query.order_by(_t.c.name)).all()
    return [_row_to_version(r) for r in rows]


def dataset_versions(name: str) -> list[DatasetVersion]:
    """Every version of dataset ``name``, oldest first.

    Raises:
        NotFoundError: no dataset has that name.
    """
    with context.get_db().read() as conn:
        rows = conn.execute(sa.select(_t).where(_t.c.name == name).order_by(_t.c.version)).all()
    if not rows:
        raise _unknown(name)
    return [_row_to_version(r) for r in rows]


def get_dataset(name: str, version: int | None = None) -> DatasetVersion:
    """One version of a dataset (the latest when ``version`` is None).

    Raises:
        NotFoundError: the dataset or that version does not exist.
    """
    version = None if version is None else checks.version(version, f"version of dataset {name!r}")
    query = sa.select(_t).where(_t.c.name == name)
    query = query.order_by(_t.c.version.desc()) if version is None else query.where(_t.c.version == version)
    with context.get_db().read() as conn:
        row = conn.execute(query.limit(1)).first()
    if row is not None:
        return _row_to_version(row)
    if version is None:
        raise _unknown(name)
    known = [v.version for v in dataset_versions(name)]
    raise NotFoundError(
        f"dataset {name!r} has no version {version}; it has versions {known}", name=name, version=version
    )


def _unknown(name: str) -> NotFoundError:
    with context.get_db().read() as conn:
        names = sorted(conn.execute(sa.select(_t.c.name).distinct()).scalars())
    hint = f"registered datasets: {', '.join(names[:20])}" if names else "the catalog is empty"
    return NotFoundError(
        f"no dataset named {name!r}; {hint} — register it with 'loopml data register {name} FILE' (in Python: "
        f"register_dataset({name!r}, FILE))", name=name
    )


def load_dataset(name: str, version: int | None = None) -> pd.DataFrame:
    """The content of a dataset version as a DataFrame; the stored bytes are verified by hash first.

    Raises:
        NotFoundError: the dataset or version does not exist.
        ArtifactCorrupted: the stored Parquet does not match its digest.
    """
    info = get_dataset(name, version)
    return _io.read_parquet_bytes(context.get_artifacts().get_bytes(info.sha256))


def load_arrow(info: DatasetVersion) -> pa.Table:
    """The content of ``info`` as an Arrow table (hash verified)."""
    import io

    import pyarrow.parquet as pq

    return pq.read_table(io.BytesIO(context.get_artifacts().get_bytes(info.sha256)))


# -- registering -----------------------------------------------------------------------------------
def register_dataset(
    name: str,
    source: str | Path | pd.DataFrame | None = None,
    *,
    format: str | None = None,  # noqa: A002  (the user-facing word)
    description: str | None = None,
    sql: str | None = None,
) -> DatasetVersion:
    """Register a dataset version from a file, a DataFrame, or a DuckDB query over the catalog.

    Args:
        name: the dataset name; letters, digits and underscores (it is the table name in SQL).
        source: a CSV, Parquet or JSON Lines file, or a DataFrame. Leave None when ``sql`` is given.
        format: ``csv``, ``parquet`` or ``jsonl`` when the file extension does not say.
        description: free text kept with the version.
        sql: a DuckDB query that refers to registered datasets by name (``churn``, or ``"churn@2"``
            for a fixed version); its result becomes the new version.

    Returns:
        The new version, or the existing one when the content is unchanged.

    Raises:
        ValidationError: a bad name, an unreadable file, an SQL error, or both/neither of source and sql.
        NotFoundError: the file, or a dataset the query names, does not exist.

    Example:
        >>> import pandas as pd
        >>> v = register_dataset("doc_tiny", pd.DataFrame({"x": [1, 2]}))  # doctest: +SKIP
        >>> v.version, v.rows  # doctest: +SKIP
        (1, 2)
    """
    check_name(name)
    table, fmt, source_text, lineage = _materialize(source, format, sql)
    digest = _io.content_hash(table)
    existing = _find_by_hash(name, digest)
    if existing is not None:
        return existing
    frame = table.to_pandas()
    schema = [c.to_dict() for c in infer_schema(frame)]
    ref = context.get_artifacts().put_bytes(_io.parquet_bytes(table))
    values = dict(
        name=name, content_hash=digest, artifact_sha256=ref.sha256, size=ref.size, rows=table.num_rows,
        format=fmt, source=source_text, sql=sql, description=description, schema=schema, lineage=lineage,
    )
    return _insert(values)


def _materialize(
    source: str | Path | pd.DataFrame | None, fmt: str | None, query: str | None
) -> tuple[pa.Table, str, str | None, dict[str, Any]]:
    if (source is None) == (query is None):
        raise ValidationError(
            "give exactly one of source (a file or DataFrame) and sql (a query over the catalog)"
        )
    if query is not None:
        from loopml.data.query import run_sql

        table, inputs = run_sql(query)
        return table, "sql", None, {"inputs": [{"name": v.name, "version": v.version,
                                                "content_hash": v.content_hash} for v in inputs]}
    if isinstance(source, pd.DataFrame):
        return _io.to_arrow(source), "dataframe", None, {}
    # a file: exactly one of source and sql is given (checked above), and it was not sql nor a DataFrame
    file_source = cast(str | Path, source)
    frame, fmt = _io.read_source(file_source, fmt)
    path = Path(file_source).resolve()
    return _io.to_arrow(frame), fmt, str(path), {"source": {"path": str(path), "sha256": sha256_file(path)}}


def _find_by_hash(name: str, digest: str) -> DatasetVersion | None:
    query = sa.select(_t).where(_t.c.name == name, _t.c.content_hash == digest)
    with context.get_db().read() as conn:
        row = conn.execute(query).first()
    return _row_to_version(row) if row is not None else None


def _insert(values: dict[str, Any]) -> DatasetVersion:
    """Insert the next version (or return the one with the same hash), retrying lost races."""
    for attempt in range(_RETRIES):
        try:
            return _insert_once(values)
        except sa.exc.IntegrityError:
            if attempt == _RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def _insert_once(values: dict[str, Any]) -> DatasetVersion:
    name, user = values["name"], context.current_user()
    with context.get_db().write() as conn:
        row = conn.execute(
            sa.select(_t).where(_t.c.name == name, _t.c.content_hash == values["content_hash"])
        ).first()
        if row is not None:
            return _row_to_version(row)
        top = conn.execute(sa.select(sa.func.max(_t.c.version)).where(_t.c.name == name)).scalar()
        row_values = dict(values, id=ids.new_id("ds"), version=(top or 0) + 1,
                          created_at=clock.now(), created_by=user)
        conn.execute(_t.insert().values(**row_values))
        audit.append(
            conn, actor=user, action="dataset.register", resource=f"dataset:{name}@{row_values['version']}",
            details={"sha256": values["artifact_sha256"], "content_hash": values["content_hash"],
                     "rows": values["rows"], "format": values["format"], "lineage": values["lineage"]},
        )
        return _row_to_version(_RowView(row_values))


class _RowView:
    """Attribute access over a dict, so a just-inserted row converts like a fetched one."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def read_table(source: str, *, format: str | None = None) -> pd.DataFrame:  # noqa: A002 - the user's word
    """A frame from a CSV/Parquet/JSON Lines file, or from the catalog as ``name`` or ``name@version``.

    A path that exists is read as a file; anything else is looked up in the catalog (hash verified).
    """
    if Path(source).is_file():
        return _io.read_source(source, format)[0]
    name, _, version = source.partition("@")
    return load_dataset(name, int(version) if version.isdigit() else None)
