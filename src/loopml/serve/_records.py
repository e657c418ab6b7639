"""The SQL of endpoints (and nothing else): rows in, frozen views out."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loopml.core import clock
from loopml.errors import ConflictError, NotFoundError
from loopml.serve._tables import endpoints, events
from loopml.serve.endpoint_config import EndpointConfig


@dataclass(frozen=True)
class Endpoint:
    """An endpoint as stored: its mode, configuration, desired and observed state (read-only view)."""

    name: str
    mode: str
    config: dict[str, Any]
    desired: str
    status: str
    deployment: dict[str, Any]
    runtime: dict[str, Any]
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime

    @property
    def typed_config(self) -> EndpointConfig:
        """The configuration as a frozen, typed :class:`~loopml.serve.endpoint_config.EndpointConfig`."""
        return EndpointConfig.from_record(self.config)

    @property
    def variants(self) -> list[dict[str, Any]]:
        """The production variants (name, model, digest, weight, shadow)."""
        return list(self.config.get("variants", []))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _endpoint(row: Any) -> Endpoint:
    m = row._mapping
    return Endpoint(m["name"], m["mode"], m["config"], m["desired"], m["status"], m["deployment"], m["runtime"],
                    m["created_by"], clock.as_utc(m["created_at"]), m["updated_by"], clock.as_utc(m["updated_at"]))


def get(conn: Connection, name: str) -> Endpoint:
    row = conn.execute(sa.select(endpoints).where(endpoints.c.name == name)).first()
    if row is None:
        known = list(conn.execute(sa.select(endpoints.c.name).order_by(endpoints.c.name).limit(20)).scalars())
        raise NotFoundError(f"no endpoint named {name!r}; endpoints are {known or 'none yet'} "
                            f"(create one with 'loopml endpoint create {name} --model GROUP@approved')", endpoint=name)
    return _endpoint(row)


def all_endpoints(conn: Connection) -> list[Endpoint]:
    return [_endpoint(r) for r in conn.execute(sa.select(endpoints).order_by(endpoints.c.name))]


def insert(conn: Connection, *, name: str, mode: str, config: dict[str, Any], actor: str) -> None:
    if conn.execute(sa.select(endpoints.c.name).where(endpoints.c.name == name)).first() is not None:
        raise ConflictError(f"endpoint {name!r} already exists; update it with 'loopml endpoint update {name} --model "
                            "GROUP:VERSION' or delete it first with 'loopml endpoint delete {name}'", endpoint=name)
    now = clock.now()
    conn.execute(endpoints.insert().values(
        name=name, mode=mode, config=config, desired="InService", status="Creating", deployment={}, runtime={},
        created_by=actor, created_at=now, updated_by=actor, updated_at=now))


def update(conn: Connection, name: str, *, actor: str | None = None, **values: Any) -> None:
    extra = {"updated_by": actor} if actor else {}
    conn.execute(endpoints.update().where(endpoints.c.name == name).values(**values, **extra,
                                                                           updated_at=clock.now()))


def delete(conn: Connection, name: str) -> None:
    conn.execute(endpoints.delete().where(endpoints.c.name == name))


def add_event(conn: Connection, endpoint: str, kind: str, details: dict[str, Any]) -> None:
    conn.execute(events.insert().values(endpoint=endpoint, kind=kind, details=details, at=clock.now()))


def list_events(conn: Connection, endpoint: str, *, kind: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    query = sa.select(events).where(events.c.endpoint == endpoint)
    if kind:
        query = query.where(events.c.kind == kind)
    rows = conn.execute(query.order_by(events.c.id.desc()).limit(limit))
    return [{"kind": r.kind, "details": r.details, "at": clock.as_utc(r.at).isoformat()} for r in rows]
