"""The blobs the model registry's records name (a reference provider for ``fsck`` and ``gc``)."""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loopml.core.references import FOLDER, JSON, Reference, mentions
from loopml.registry._tables import model_groups as _groups
from loopml.registry._tables import model_versions as _versions


def model_versions(conn: Connection) -> Iterator[Reference]:
    """A version's model folder, the digest its approval is bound to, its evaluation report (whose HTML
    rendering it names) and whatever its lineage, card, tags and metrics mention (a recipe...)."""
    c = _versions.c
    query = sa.select(c.group_name, c.version, c.digest, c.approved_digest, c.evaluation_digest, c.lineage,
                      c.card, c.tags, c.metrics)
    for group, number, digest, approved, evaluation, *documents in conn.execute(query):
        owner = f"model {group}:{number}"
        yield Reference(digest, owner, FOLDER)
        if approved and approved != digest:
            yield Reference(approved, f"{owner} approved digest", FOLDER, required=False)
        if evaluation:
            yield Reference(evaluation, f"{owner} evaluation report", JSON)
        for value in documents:
            yield from mentions(value, owner)


def model_groups(conn: Connection) -> Iterator[Reference]:
    """Digests a group's settings mention (none today)."""
    for name, settings in conn.execute(sa.select(_groups.c.name, _groups.c.settings)):
        yield from mentions(settings, f"model group {name}")
