"""Governance routes: the caller, the audit log, users and roles, tokens. There is no signup or token-creation
route: tokens are made on the server with ``loopml tokens create``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends

from loopml.api._shapes import Body, Filter, Id, Limit, Name, Offset, Page, one, page, sliced
from loopml.api.auth import Principal, authorize
from loopml.core import audit, context, identity, tokens

router = APIRouter(tags=["governance"])
Caller = Annotated[Principal, Depends(authorize)]
Role = Literal["viewer", "data-scientist", "approver", "admin"]


class Grant(Body):
    """A role to grant."""

    role: Role


@router.get("/me", summary="Who the token belongs to, and its roles")
def me(caller: Caller) -> dict[str, Any]:
    return {"user": caller.user, "roles": sorted(caller.roles), "token_id": caller.token_id}


@router.get("/audit", response_model=Page, summary="Audit events, newest first")
def audit_events(caller: Caller, resource: Filter = None, action: Filter = None, actor: Filter = None,
                 limit: Limit = 50, offset: Offset = 0) -> Page:
    with context.get_db().read() as conn:
        found = audit.events(conn, resource=resource, action=action, actor=actor, limit=limit, offset=offset)
    return page(found, limit=limit, offset=offset)


@router.get("/audit/verify", summary="Verify the audit hash chain (admin)")
def audit_verify(caller: Caller) -> dict[str, Any]:
    with context.get_db().read() as conn:
        return one(audit.verify(conn)) | {"head": list(audit.head(conn))}


@router.get("/users", response_model=Page, summary="Users with granted roles (admin)")
def list_users(caller: Caller, limit: Limit = 50, offset: Offset = 0) -> Page:
    with context.get_db().read() as conn:
        users = [{"name": u.name, "roles": sorted(u.roles)} for u in identity.list_users(conn)]
    return sliced(users, limit=limit, offset=offset)


@router.post("/users/{name}/roles", status_code=201, summary="Grant a role (admin)")
def grant(name: Name, body: Grant, caller: Caller) -> dict[str, Any]:
    with context.get_db().write() as conn:
        added = identity.grant(conn, name, body.role, actor=caller.user)
    return {"user": name, "role": body.role, "granted": added}


@router.delete("/users/{name}/roles/{role}", summary="Revoke a role (admin)")
def revoke_role(name: Name, role: Role, caller: Caller) -> dict[str, Any]:
    with context.get_db().write() as conn:
        removed = identity.revoke(conn, name, role, actor=caller.user)
    return {"user": name, "role": role, "revoked": removed}


@router.get("/tokens", response_model=Page, summary="Tokens (your own; admins may pass ?user= or see all)")
def list_tokens(caller: Caller, user: Filter = None, all_users: bool = False, limit: Limit = 50,
                offset: Offset = 0) -> Page:
    who = None if all_users else (user or caller.user)
    with context.get_db().read() as conn:
        found = tokens.list_tokens(conn, user=who, actor=caller.user)
    return sliced(found, limit=limit, offset=offset)


@router.delete("/tokens/{token_id}", summary="Revoke a token (your own; admins any)")
def revoke_token(token_id: Id, caller: Caller) -> dict[str, Any]:
    with context.get_db().write() as conn:
        return one(tokens.revoke(conn, token_id, actor=caller.user))
