"""Serving routes: endpoints (list, describe with variants, traffic weights and live figures) and the changes
to them (create, update, rollback, delete), which run in a worker process acting as the caller (202)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import Field, field_validator

from loopml import registry, serve
from loopml.api import _jobs
from loopml.api._shapes import Body, Limit, Name, Offset, Page, one, sliced
from loopml.api.auth import Principal, authorize
from loopml.core import net as outbound
from loopml.errors import ConflictError, NotFoundError

router = APIRouter(tags=["endpoints"])
Caller = Annotated[Principal, Depends(authorize)]
ModelRef = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-]{1,200}(:\d{1,9}|@[A-Za-z0-9_\-]{1,64})?$",
                                description="GROUP:VERSION, GROUP@approved or an alias")]


class NewEndpoint(Body):
    """An endpoint to create. Only Approved versions deploy (admins may override, audited)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9\-]{0,62}$")
    model: ModelRef
    mode: Literal["realtime", "serverless", "async"] = "realtime"
    min_replicas: int = Field(1, ge=0, le=16)
    max_replicas: int = Field(1, ge=1, le=16)
    capture_percent: float = Field(0.0, ge=0, le=100)
    webhook: str | None = Field(None, max_length=2000, description="Public http(s) URL for async results.")
    allow_unapproved: bool = False

    @field_validator("webhook")
    @classmethod
    def _public(cls, value: str | None) -> str | None:
        if value is not None:
            outbound.check_url(value)
        return value


class Deployment(Body):
    """A blue/green update of a running endpoint to another model version."""

    model: ModelRef
    strategy: Literal["all_at_once", "canary", "linear"] = "all_at_once"
    canary_percent: float = Field(10.0, gt=0, le=100)
    step_percent: float = Field(25.0, gt=0, le=100)
    bake_seconds: float = Field(0.0, ge=0, le=86400)
    max_error_rate: float = Field(0.05, ge=0, le=1)
    allow_unapproved: bool = False


@router.get("/endpoints", response_model=Page, summary="Endpoints with mode, models, status and URL")
def list_endpoints(caller: Caller, limit: Limit = 50, offset: Offset = 0) -> Page:
    return sliced(serve.list_endpoints(), limit=limit, offset=offset)


@router.get("/endpoints/{name}", summary="An endpoint: variants, weights, deployment, live latency and errors")
def describe(name: Name, caller: Caller) -> dict[str, Any]:
    return one(serve.describe(name))


@router.post("/endpoints", status_code=202, summary="Create and start an endpoint (in a worker)")
def create(body: NewEndpoint, caller: Caller) -> dict[str, Any]:
    registry.resolve(body.model)
    try:
        serve.get(body.name)
    except NotFoundError:
        return {"endpoint": body.name, "job": one(_jobs.start("endpoint.create", body.model_dump(), user=caller.user))}
    raise ConflictError(f"endpoint {body.name!r} already exists; update it, or delete it first")


@router.post("/endpoints/{name}/deployments", status_code=202, summary="Blue/green update to another version")
def update(name: Name, body: Deployment, caller: Caller) -> dict[str, Any]:
    serve.get(name)
    registry.resolve(body.model)
    job = _jobs.start("endpoint.update", {"name": name, **body.model_dump()}, user=caller.user)
    return {"endpoint": name, "job": one(job)}


@router.post("/endpoints/{name}/rollback", status_code=202, summary="Roll back to the previous deployment")
def rollback(name: Name, caller: Caller) -> dict[str, Any]:
    serve.get(name)
    return {"endpoint": name, "job": one(_jobs.start("endpoint.rollback", {"name": name}, user=caller.user))}


@router.delete("/endpoints/{name}", status_code=202, summary="Stop and delete an endpoint")
def delete(name: Name, caller: Caller) -> dict[str, Any]:
    serve.get(name)
    return {"endpoint": name, "job": one(_jobs.start("endpoint.delete", {"name": name}, user=caller.user))}
