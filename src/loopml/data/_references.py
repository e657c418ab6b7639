"""The blobs the data catalog's records name (a reference provider for ``fsck`` and ``gc``)."""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loopml.core.references import BYTES, Reference, mentions
from loopml.data._tables import dataset_versions as _t


def dataset_versions(conn: Connection) -> Iterator[Reference]:
    """Each dataset version's Parquet, and any stored input its lineage names."""
    rows = conn.execute(sa.select(_t.c.name, _t.c.version, _t.c.artifact_sha256, _t.c.lineage))
    for name, version, digest, lineage in rows:
        owner = f"dataset {name}@{version}"
        yield Reference(digest, owner, BYTES)
        yield from mentions(lineage, owner)
