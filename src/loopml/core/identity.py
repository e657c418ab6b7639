"""Who is acting, and what their roles allow.

Roles: ``viewer`` (read), ``data-scientist`` (create datasets, runs, models), ``approver`` (approve or reject
model versions), ``admin`` (grant roles, override governance, audited), ``invoker`` (call endpoints through the
control plane and nothing else: what an application's token holds). An identity holds exactly the roles
granted to it: no role means no access (there is no default role). The identity that creates a home is
granted :data:`FOUNDER_ROLES` explicitly, in the same transaction as the home's first audit event
(:func:`found_home`), so a fresh laptop works without setup. In embedded mode the identity is
``LOOPML_USER`` or the OS user; the control plane takes it from a bearer token instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loopml.core import audit, clock, names
from loopml.core._tables import user_roles, users
from loopml.core.rows import insert_ignore
from loopml.errors import ConflictError, PermissionDenied, ValidationError

ROLES = ("viewer", "data-scientist", "approver", "admin", "invoker")
#: What the identity that creates a home is granted: the work of the loop, not approving (a second person
#: approves) and not admin (naming the first admin stays a deliberate, audited act). See decisions.md #19.
FOUNDER_ROLES = ("data-scientist",)
AUTOMATION_PREFIX = "automation:"


@dataclass(frozen=True)
class User:
    """A user and the roles granted to them."""

    name: str
    roles: frozenset[str]


def check_role_name(role: str) -> str:
    """Return ``role`` if it is one of :data:`ROLES`, else raise naming the allowed ones."""
    if role not in ROLES:
        raise ValidationError(f"unknown role {role!r}; roles are {', '.join(ROLES)}", role=role)
    return role


def roles_of(conn: Connection, name: str) -> frozenset[str]:
    """The roles granted to ``name``; empty when none were (never granted, or all revoked)."""
    rows = conn.execute(sa.select(user_roles.c.role).where(user_roles.c.user_name == name)).scalars()
    return frozenset(rows)


def has_role(conn: Connection, name: str, role: str) -> bool:
    """Whether ``name`` holds ``role`` (admins hold every role)."""
    roles = roles_of(conn, name)
    return role in roles or "admin" in roles


def admins(conn: Connection) -> list[str]:
    """The users holding ``admin``, by name."""
    query = sa.select(user_roles.c.user_name).where(user_roles.c.role == "admin").order_by(user_roles.c.user_name)
    return list(conn.execute(query).scalars())


def grant_hint(conn: Connection, name: str, role: str) -> str:
    """Who can grant ``role`` to ``name``, and the command that does it."""
    found = admins(conn)
    if not found:
        return (f"this home has no admin yet: its first admin names themself with 'loopml users grant ADMIN admin', "
                f"then runs 'loopml users grant {name} {role}'")
    who = ", ".join(found[:5]) + (", …" if len(found) > 5 else "")
    return f"an admin ({who}) can grant it with 'loopml users grant {name} {role}'"


def require_role(conn: Connection, name: str, role: str, *, action: str) -> None:
    """Raise :class:`PermissionDenied` unless ``name`` holds ``role``."""
    if not has_role(conn, name, role):
        held = sorted(roles_of(conn, name))
        raise PermissionDenied(
            f"{name} may not {action}: it needs the {role!r} role and {name} has "
            f"{held or 'no role in this home'}; {grant_hint(conn, name, role)}",
            user=name,
            role=role,
        )


def require_any_role(conn: Connection, name: str, *, action: str = "act in this home") -> frozenset[str]:
    """The roles of ``name``; raise :class:`PermissionDenied` when it holds none (never granted, or revoked)."""
    roles = roles_of(conn, name)
    if not roles:
        raise PermissionDenied(
            f"{name} may not {action}: {name} has no role in this home (never granted, or revoked); "
            f"{grant_hint(conn, name, 'data-scientist')} (roles: {', '.join(ROLES)})", user=name)
    return roles


def _locked_admins(conn: Connection) -> list[str]:
    query = sa.select(user_roles.c.user_name).where(user_roles.c.role == "admin").with_for_update()
    return sorted(conn.execute(query).scalars())


def _has_any_admin(conn: Connection) -> bool:
    return bool(admins(conn))


def is_fresh_home(conn: Connection, *, lock: bool = False) -> bool:
    """Nothing has happened in this home yet: no audit event and no granted role (``lock``: hold the audit head)."""
    if audit.head(conn, lock=lock)[0] != 0:
        return False
    return conn.execute(sa.select(user_roles.c.user_name).limit(1)).first() is None


def found_home(conn: Connection, founder: str) -> bool:
    """Grant :data:`FOUNDER_ROLES` to ``founder`` if the home is fresh; audited as the home's first events.

    Call it in a write transaction right after the home's database is created. It re-checks freshness holding
    the audit head (the write lock on SQLite, ``FOR UPDATE`` on PostgreSQL), so of several processes creating
    one home at once exactly one founds it.

    Returns:
        True when this call founded the home.
    """
    if not is_fresh_home(conn, lock=True) or not founder or founder.startswith(AUTOMATION_PREFIX):
        return False
    now = clock.now()
    insert_ignore(conn, users, {"name": founder, "created_at": now, "created_by": founder})
    for role in FOUNDER_ROLES:
        insert_ignore(conn, user_roles, {"user_name": founder, "role": role, "granted_by": founder, "granted_at": now})
        audit.append(conn, actor=founder, action="user.grant", resource=f"user:{founder}",
                     details={"role": role, "reason": "created this home"})
    return True


def grant(conn: Connection, name: str, role: str, *, actor: str) -> bool:
    """Grant ``role`` to ``name``; the actor must be an admin, except to name the very first admin.

    Returns:
        True when the role was newly granted.
    """
    check_role_name(role)
    names.check("user", name, example="alice")
    bootstrap = not _has_any_admin(conn)
    if not (bootstrap and role == "admin" and name == actor):
        require_role(conn, actor, "admin", action=f"grant the {role!r} role")
    now = clock.now()
    insert_ignore(conn, users, {"name": name, "created_at": now, "created_by": actor})
    added = insert_ignore(
        conn, user_roles, {"user_name": name, "role": role, "granted_by": actor, "granted_at": now}
    )
    if added:
        audit.append(conn, actor=actor, action="user.grant", resource=f"user:{name}",
                     details={"role": role, "bootstrap": bootstrap})
    return added


def revoke(conn: Connection, name: str, role: str, *, actor: str) -> bool:
    """Take ``role`` away from ``name``; the actor must be an admin. Returns True if it was held.

    Raises:
        ConflictError: it would leave the home without an admin.
    """
    check_role_name(role)
    require_role(conn, actor, "admin", action=f"revoke the {role!r} role")
    if role == "admin" and _locked_admins(conn) == [name]:
        raise ConflictError(f"{name} is the only admin of this home; grant admin to someone else first "
                            f"('loopml users grant NAME admin'), then revoke it from {name}", user=name)
    result = conn.execute(
        user_roles.delete().where(user_roles.c.user_name == name, user_roles.c.role == role)
    )
    if result.rowcount:
        audit.append(conn, actor=actor, action="user.revoke", resource=f"user:{name}", details={"role": role})
    return bool(result.rowcount)


def list_users(conn: Connection) -> list[User]:
    """Every user that has been granted a role."""
    rows = conn.execute(sa.select(user_roles.c.user_name, user_roles.c.role).order_by(user_roles.c.user_name))
    found: dict[str, set[str]] = {}
    for row in rows:
        found.setdefault(row.user_name, set()).add(row.role)
    return [User(name, frozenset(roles)) for name, roles in found.items()]
