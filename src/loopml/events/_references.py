"""The blobs the event rules' records name (a reference provider for ``fsck`` and ``gc``)."""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loopml.core.references import Reference, mentions
from loopml.events import _tables as t


def rules(conn: Connection) -> Iterator[Reference]:
    """Digests a rule's pattern or actions mention (a pipeline parameter given by digest)."""
    for name, pattern, actions in conn.execute(sa.select(t.rules.c.name, t.rules.c.pattern, t.rules.c.actions)):
        yield from mentions([pattern, actions], f"event rule {name}")


def actions(conn: Connection) -> Iterator[Reference]:
    """Digests an action's result mentions (the execution it started...)."""
    c = t.actions.c
    for action_id, rule, result in conn.execute(sa.select(c.id, c.rule, c.result)):
        yield from mentions(result, f"event rule {rule} action {action_id}")
