"""Governance routes: the caller, the audit log, users and roles, tokens. There is no signup or token-creation
route: tokens are made on the server with ``loopml tokens create``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from loopml.api._shapes import Body, Filter, Id, Limit, Name, Offset, Page, one, page, sliced
from loopml.api.auth import Principal, authorize
from loopml.core import governance

router = APIRouter(tags=["governance"])
Caller = Annotated[Principal, Depends(authorize)]
Role = Literal["viewer", "data-scientist", "approver", "admin", "invoker"]
Anchor = Annotated[str | None, Query(max_length=100, description="SEQ:HASH kept from 'loopml audit anchor' (or "
                                     "an earlier 'head'): the chain must still hold that event")]


class Grant(Body):
    """A role to grant."""

    role: Role


@router.get("/me", summary="Who the token belongs to, and its roles")
def me(caller: Caller) -> dict[str, Any]:
    return {"user": caller.user, "roles": sorted(caller.roles), "token_id": caller.token_id}


@router.get("/audit", response_model=Page, summary="Audit events, newest first (?order=oldest for the other way)")
def audit_events(caller: Caller, resource: Filter = None, action: Filter = None, actor: Filter = None,
                 order: Literal["newest", "oldest"] = "newest", limit: Limit = 50, offset: Offset = 0) -> Page:
    found = governance.audit_log(resource=resource, action=action, actor=actor, limit=limit, offset=offset,
                                 newest_first=order == "newest")
    return page(found, limit=limit, offset=offset)


@router.get("/audit/verify", summary="Verify the audit hash chain, optionally against a kept anchor (admin)")
def audit_verify(caller: Caller, anchor: Anchor = None) -> dict[str, Any]:
    result, head = governance.verify_audit(anchor=anchor)
    return one(result) | {"head": list(head)}


@router.get("/users", response_model=Page, summary="Users with granted roles (admin)")
def list_users(caller: Caller, limit: Limit = 50, offset: Offset = 0) -> Page:
    users = [{"name": u.name, "roles": sorted(u.roles)} for u in governance.list_users()]
    return sliced(users, limit=limit, offset=offset)


@router.post("/users/{name}/roles", status_code=201, summary="Grant a role (admin)")
def grant(name: Name, body: Grant, caller: Caller) -> dict[str, Any]:
    added = governance.grant_role(name, body.role, actor=caller.user)
    return {"user": name, "role": body.role, "granted": added}


@router.delete("/users/{name}/roles/{role}", summary="Revoke a role (admin)")
def revoke_role(name: Name, role: Role, caller: Caller) -> dict[str, Any]:
    removed = governance.revoke_role(name, role, actor=caller.user)
    return {"user": name, "role": role, "revoked": removed}


@router.get("/tokens", response_model=Page, summary="Tokens (your own; admins may pass ?user= or see all)")
def list_tokens(caller: Caller, user: Filter = None, all_users: bool = False, limit: Limit = 50,
                offset: Offset = 0) -> Page:
    who = None if all_users else (user or caller.user)
    found = governance.list_tokens(user=who, actor=caller.user)
    return sliced(found, limit=limit, offset=offset)


@router.delete("/tokens/{token_id}", summary="Revoke a token (your own; admins any)")
def revoke_token(token_id: Id, caller: Caller) -> dict[str, Any]:
    return one(governance.revoke_token(token_id, actor=caller.user))
