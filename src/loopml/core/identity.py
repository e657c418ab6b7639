"""Who is acting, and what their roles allow.

Roles: ``viewer`` (read), ``data-scientist`` (create datasets, runs, models), ``approver`` (approve or reject
model versions), ``admin`` (grant roles, override governance, audited). In embedded mode the identity is
``LOOPML_USER`` or the OS user; a user with no granted role is treated as a data-scientist, so a fresh
laptop works without setup, while approving always needs an explicit grant. The control plane takes the
identity from a bearer token instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from loopml.core import audit, clock
from loopml.core._sql import insert_ignore
from loopml.core._tables import user_roles, users
from loopml.errors import PermissionDenied, ValidationError

ROLES = ("viewer", "data-scientist", "approver", "admin")
DEFAULT_ROLES = frozenset({"data-scientist"})
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
    """The roles granted to ``name`` (the defaults when none were granted)."""
    rows = conn.execute(sa.select(user_roles.c.role).where(user_roles.c.user_name == name)).scalars()
    granted = frozenset(rows)
    return granted or DEFAULT_ROLES


def has_role(conn: Connection, name: str, role: str) -> bool:
    """Whether ``name`` holds ``role`` (admins hold every role)."""
    roles = roles_of(conn, name)
    return role in roles or "admin" in roles


def require_role(conn: Connection, name: str, role: str, *, action: str) -> None:
    """Raise :class:`PermissionDenied` unless ``name`` holds ``role``."""
    if not has_role(conn, name, role):
        raise PermissionDenied(
            f"{name} may not {action}: it needs the {role!r} role and {name} has "
            f"{sorted(roles_of(conn, name))}; an admin can grant it with 'loopml users grant {name} {role}'",
            user=name,
            role=role,
        )


def _has_any_admin(conn: Connection) -> bool:
    return conn.execute(sa.select(user_roles.c.user_name).where(user_roles.c.role == "admin").limit(1)).first() is not None


def grant(conn: Connection, name: str, role: str, *, actor: str) -> bool:
    """Grant ``role`` to ``name``; the actor must be an admin, except to name the very first admin.

    Returns:
        True when the role was newly granted.
    """
    check_role_name(role)
    if not name or name.startswith(AUTOMATION_PREFIX):
        raise ValidationError(f"{name!r} is not a valid user name", user=name)
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
    """Take ``role`` away from ``name``; the actor must be an admin. Returns True if it was held."""
    check_role_name(role)
    require_role(conn, actor, "admin", action=f"revoke the {role!r} role")
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
