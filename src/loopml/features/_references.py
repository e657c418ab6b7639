"""What the feature store's records name (a reference provider for ``fsck`` and ``gc``).

Offline partitions live outside the artifact store (under ``LOOPML_FEATURES``); each ingest's manifest
names them with the sha256 recorded when they were written, so ``fsck`` checks them and ``gc`` keeps away.
"""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loopml.core.references import FileReference, Reference, mentions
from loopml.features._tables import feature_groups as _groups
from loopml.features._tables import feature_ingests as _ingests


def feature_groups(conn: Connection) -> Iterator[Reference]:
    """Digests a group definition mentions (none today; definitions are columns and types)."""
    for name, version, definition in conn.execute(sa.select(_groups.c.name, _groups.c.version, _groups.c.definition)):
        yield from mentions(definition, f"feature group {name}@{version}")


def feature_ingests(conn: Connection) -> Iterator[FileReference]:
    """Every offline partition file of every committed ingest."""
    from loopml.features.offline import root_url

    root = root_url().rstrip("/")
    query = sa.select(_ingests.c.id, _ingests.c.group_name, _ingests.c.group_version, _ingests.c.files)
    for ingest_id, group, version, files in conn.execute(query):
        owner = f"feature group {group}@{version} ingest {ingest_id}"
        for item in files:
            yield FileReference(f"{root}/{item['path']}", owner, item.get("sha256"))
