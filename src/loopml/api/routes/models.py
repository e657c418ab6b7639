"""Model registry routes: groups, versions, approval, cards, lineage, aliases, settings."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse
from pydantic import Field

from loopml import registry
from loopml.api._shapes import Body, Limit, Name, Number, Offset, Page, one, page
from loopml.api.auth import Principal, authorize
from loopml.core import context
from loopml.errors import NotFoundError
from loopml.registry import labels

router = APIRouter(tags=["models"])
Caller = Annotated[Principal, Depends(authorize)]
Status = Literal["PendingManualApproval", "Approved", "Rejected"]


class Decision(Body):
    """An approval decision. Unknown fields (such as ``created_by``) are refused (422): the caller is the token's
    user."""

    note: str = Field("", max_length=2000)


class NewVersion(Body):
    """Register a model folder already in the artifact store, named by its digest (never a path or URL)."""

    artifact: str = Field(pattern=r"^sha256:[0-9a-f]{64}$", description="Digest of the model folder artifact.")
    description: str = Field("", max_length=2000)
    tags: dict[str, Annotated[str, Field(max_length=200)]] = Field(default_factory=dict, max_length=50)
    metrics: dict[str, float] = Field(default_factory=dict, max_length=100)


class Settings(Body):
    """Governance settings of a model group."""

    allow_self_approval: bool | None = None
    auto_approve: bool | None = None


class Alias(Body):
    """Move an alias with compare-and-swap: ``expected`` is the version it points at now (None: unset)."""

    version: int = Field(ge=1, le=2**31 - 1)
    expected: int | None = Field(None, ge=1, le=2**31 - 1)


@router.get("/models", response_model=Page, summary="List model groups")
def list_groups(caller: Caller, limit: Limit = 50, offset: Offset = 0) -> Page:
    return page(registry.list_groups(limit=limit, offset=offset), limit=limit, offset=offset)


@router.get("/models/{group}", summary="Show a model group")
def get_group(group: Name, caller: Caller) -> dict[str, Any]:
    return one(registry.get_group(group))


@router.delete("/models/{group}", status_code=204, summary="Delete a model group (admin)")
def delete_group(group: Name, caller: Caller) -> None:
    registry.delete_group(group, actor=caller.user)


@router.put("/models/{group}/settings", summary="Change governance settings (admin)")
def set_settings(group: Name, body: Settings, caller: Caller) -> dict[str, Any]:
    return one(registry.set_group_settings(group, **body.model_dump(), actor=caller.user))


@router.put("/models/{group}/aliases/{alias}", summary="Point an alias at an Approved version")
def set_alias(group: Name, alias: Name, body: Alias, caller: Caller) -> dict[str, Any]:
    previous = registry.set_alias(group, alias, body.version, expected=body.expected, actor=caller.user)
    return {"group": group, "alias": alias, "version": body.version, "previous": previous}


@router.get("/versions", response_model=Page, summary="List versions of every group")
def list_all_versions(caller: Caller, status: Status | None = None, limit: Limit = 50, offset: Offset = 0) -> Page:
    return page(registry.list_versions(None, status=status, limit=limit, offset=offset), limit=limit, offset=offset)


@router.get("/models/{group}/versions", response_model=Page, summary="List the versions of a group")
def list_versions(group: Name, caller: Caller, status: Status | None = None, limit: Limit = 50,
                  offset: Offset = 0) -> Page:
    return page(registry.list_versions(group, status=status, limit=limit, offset=offset), limit=limit, offset=offset)


@router.post("/models/{group}/versions", status_code=201, summary="Register a stored model folder as a version")
def register(group: Name, body: NewVersion, caller: Caller) -> dict[str, Any]:
    store = context.get_artifacts()
    if not store.exists(body.artifact):
        raise NotFoundError(f"no artifact {body.artifact} in the store; upload the model folder first")
    with tempfile.TemporaryDirectory(prefix="loopml-api-") as tmp:
        folder = store.get_dir(body.artifact, Path(tmp) / "model")
        version = registry.register(folder, group, description=body.description, tags=body.tags,
                                    metrics=body.metrics, actor=caller.user)
    return one(version)


@router.get("/models/{group}/versions/{version}", summary="Show a version")
def get_version(group: Name, version: Number, caller: Caller) -> dict[str, Any]:
    return one(registry.get_version(group, version))


@router.post("/models/{group}/versions/{version}/approve", summary="Approve a version (approver, not its creator)")
def approve(group: Name, version: Number, body: Decision, caller: Caller) -> dict[str, Any]:
    return one(registry.approve(group, version, note=body.note, actor=caller.user))


@router.post("/models/{group}/versions/{version}/reject", summary="Reject a version (approver, not its creator)")
def reject(group: Name, version: Number, body: Decision, caller: Caller) -> dict[str, Any]:
    return one(registry.reject(group, version, note=body.note, actor=caller.user))


@router.post("/models/{group}/versions/{version}/reopen", summary="Send a rejected version back for review")
def reopen(group: Name, version: Number, body: Decision, caller: Caller) -> dict[str, Any]:
    return one(registry.reopen(group, version, note=body.note, actor=caller.user))


@router.get("/models/{group}/versions/{version}/card", summary="The model card (JSON, or ?format=md)",
            response_model=None)
def card(group: Name, version: Number, caller: Caller,
         format: Annotated[Literal["json", "md"], Query()] = "json") -> Any:  # noqa: A002
    data = registry.card(group, version)
    if format == "md":
        return PlainTextResponse(registry.render_card(data, "md"), media_type="text/markdown")
    return one(data)


@router.get("/models/{group}/versions/{version}/lineage", summary="What produced a version")
def lineage(group: Name, version: Number, caller: Caller) -> dict[str, Any]:
    return one(registry.lineage(group, version))


@router.get("/models/{group}/versions/{version}/trail", summary="The approval trail of a version")
def trail(group: Name, version: Number, caller: Caller) -> dict[str, Any]:
    return {"items": [one(t) for t in registry.approval_trail(group, version)]}



class TagValue(Body):
    """The value of a tag."""

    value: str = Field(max_length=200)


@router.put("/models/{group}/versions/{version}/tags/{key}", summary="Set a tag of a version (not its bytes)")
def set_tag(group: Name, version: Number, key: Name, body: TagValue, caller: Caller) -> dict[str, Any]:
    return one(labels.set_tags(group, version, {key: body.value}, actor=caller.user))


@router.delete("/models/{group}/versions/{version}/tags/{key}", summary="Remove a tag of a version")
def delete_tag(group: Name, version: Number, key: Name, caller: Caller) -> dict[str, Any]:
    return one(labels.delete_tag(group, version, key, actor=caller.user))


@router.delete("/models/{group}/aliases/{alias}", summary="Remove an alias")
def delete_alias(group: Name, alias: Name, caller: Caller) -> dict[str, Any]:
    return {"group": group, "alias": alias, "previous": labels.delete_alias(group, alias, actor=caller.user)}
