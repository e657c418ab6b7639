"""Leases with fencing epochs: at most one live owner per key, and a stale owner cannot commit.

A worker acquires a lease on a key (a pipeline step, a queued request, a schedule slot) for ``ttl``
seconds and renews it while it works. If it stalls past the TTL another worker may take the lease over,
which bumps the epoch. Commits call :func:`check` inside their write transaction: a worker whose epoch
is no longer current gets :class:`~loopml.errors.StaleEpoch` and its result is discarded (the
Airflow #6284 shape: two instances of one task).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loopml.core import clock
from loopml.core._tables import leases
from loopml.errors import StaleEpoch


@dataclass(frozen=True)
class Lease:
    """A held lease: the key, its owner, the fencing epoch and when it lapses."""

    key: str
    owner: str
    epoch: int
    expires_at: datetime


def acquire(conn: Connection, key: str, owner: str, *, ttl: float) -> Lease | None:
    """Take the lease on ``key`` if it is free, lapsed, or already ours; None when another owner holds it.

    Call inside ``Database.write()``. Taking over a lapsed lease from another owner bumps the epoch.
    """
    now = clock.now()
    expires = now + timedelta(seconds=ttl)
    row = conn.execute(sa.select(leases).where(leases.c.key == key)).first()
    if row is None:
        conn.execute(leases.insert().values(key=key, owner=owner, epoch=1, expires_at=expires))
        return Lease(key, owner, 1, expires)
    if row.owner != owner and clock.as_utc(row.expires_at) > now:
        return None
    epoch = row.epoch if row.owner == owner else row.epoch + 1
    conn.execute(
        leases.update().where(leases.c.key == key, leases.c.epoch == row.epoch)
        .values(owner=owner, epoch=epoch, expires_at=expires)
    )
    return Lease(key, owner, epoch, expires)


def acquire_from_dead(conn: Connection, key: str, owner: str, *, ttl: float) -> Lease | None:
    """Like :func:`acquire`, but also take the lease at once from a holder that is a dead process on this
    host (owners are ``host:pid:…``), instead of waiting for its lease to lapse."""
    lease = acquire(conn, key, owner, ttl=ttl)
    if lease is not None:
        return lease
    current = holder(conn, key)
    host, pid, _ = current.owner.split(":", 2) if current and current.owner.count(":") >= 2 else ("", "0", "")
    if host == socket.gethostname() and pid.isdigit() and not pid_alive(int(pid)):
        expire_now(conn, key)
        return acquire(conn, key, owner, ttl=ttl)
    return None


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` on this host is running (a zombie counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (killed, not yet reaped) is dead for our purposes
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def check(conn: Connection, lease: Lease) -> None:
    """Raise :class:`StaleEpoch` unless ``lease`` is still the current one for its key."""
    row = conn.execute(sa.select(leases.c.owner, leases.c.epoch).where(leases.c.key == lease.key)).first()
    if row is None or (row.owner, row.epoch) != (lease.owner, lease.epoch):
        current = f"epoch {row.epoch} held by {row.owner}" if row else "no lease"
        raise StaleEpoch(
            f"lease {lease.key!r} moved on (we hold epoch {lease.epoch}, the store has {current}); "
            "this worker's result is discarded",
            key=lease.key,
        )


def renew(conn: Connection, lease: Lease, *, ttl: float) -> Lease:
    """Extend a lease we still hold; raises :class:`StaleEpoch` if it was taken over."""
    check(conn, lease)
    expires = clock.now() + timedelta(seconds=ttl)
    conn.execute(leases.update().where(leases.c.key == lease.key).values(expires_at=expires))
    return Lease(lease.key, lease.owner, lease.epoch, expires)


def release(conn: Connection, lease: Lease) -> None:
    """Give the lease up (only if still ours)."""
    conn.execute(
        leases.delete().where(
            leases.c.key == lease.key, leases.c.owner == lease.owner, leases.c.epoch == lease.epoch
        )
    )


def expired(conn: Connection, prefix: str) -> list[Lease]:
    """Leases under ``prefix`` whose owner stopped renewing them."""
    now = clock.now()
    rows = conn.execute(sa.select(leases).where(leases.c.key.startswith(prefix, autoescape=True)))
    return [
        Lease(r.key, r.owner, r.epoch, clock.as_utc(r.expires_at))
        for r in rows
        if clock.as_utc(r.expires_at) <= now
    ]


def holder(conn: Connection, key: str) -> Lease | None:
    """The current lease on ``key`` (live or lapsed), or None."""
    row = conn.execute(sa.select(leases).where(leases.c.key == key)).first()
    return Lease(row.key, row.owner, row.epoch, clock.as_utc(row.expires_at)) if row else None


def expire_now(conn: Connection, key: str) -> None:
    """Mark the lease on ``key`` lapsed (its holder is known to be dead), so it can be taken over."""
    conn.execute(leases.update().where(leases.c.key == key).values(expires_at=clock.now()))
