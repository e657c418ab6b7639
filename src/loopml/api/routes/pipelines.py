"""Pipeline routes: executions (list, show, step logs) and resuming one in a background worker process."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from loopml import pipelines
from loopml.api import _jobs
from loopml.api._shapes import Filter, Id, Limit, Name, Offset, Page, one, page
from loopml.api.auth import Principal, authorize

router = APIRouter(tags=["pipelines"])
Caller = Annotated[Principal, Depends(authorize)]
Status = Literal["RUNNING", "SUCCEEDED", "FAILED", "PENDING", "CANCELLED"]


@router.get("/executions", response_model=Page, summary="List pipeline executions, newest first (?order=oldest)")
def list_executions(caller: Caller, name: Filter = None, status: Status | None = None,
                    order: Literal["newest", "oldest"] = "newest", limit: Limit = 50, offset: Offset = 0) -> Page:
    found = pipelines.list_executions(name=name, status=status, limit=limit, offset=offset,
                                      newest_first=order == "newest")
    return page(found, limit=limit, offset=offset)


@router.get("/executions/{execution_id}", summary="Show an execution with its steps (DAG, status, cache hits)")
def get_execution(execution_id: Id, caller: Caller) -> dict[str, Any]:
    return one(pipelines.get_execution(execution_id))


@router.get("/executions/{execution_id}/steps/{step}/logs", summary="The captured logs of one step")
def step_logs(execution_id: Id, step: Name, caller: Caller) -> dict[str, Any]:
    info = pipelines.get_execution(execution_id).step(step)
    return {"execution_id": execution_id, "step": step, "status": info.status, "logs": info.logs or ""}


@router.post("/executions/{execution_id}/resume", status_code=202,
             summary="Resume an execution whose orchestrator died (runs in a background worker)")
def resume(execution_id: Id, caller: Caller) -> dict[str, Any]:
    info = pipelines.get_execution(execution_id)
    job = _jobs.start("resume", {"execution_id": execution_id}, user=caller.user)
    return {"execution_id": info.id, "status": info.status, "job": one(job)}


class StartRun(BaseModel):
    """Parameters of a new run of a known pipeline (checked against its signature by the worker)."""

    model_config = ConfigDict(extra="forbid")
    params: dict[str, str | int | float | bool] = Field(default_factory=dict)


@router.get("/pipelines", response_model=Page, summary="Pipelines the platform has run (the ones that can be started)")
def list_pipelines(caller: Caller, limit: Limit = 50, offset: Offset = 0) -> Page:
    found = pipelines.known_pipelines()
    return page(found[offset:offset + limit], limit=limit, offset=offset)


@router.post("/pipelines/{name}/runs", status_code=202,
             summary="Start a run of a known pipeline by name (runs in a background worker as the caller)")
def start_run(name: Name, body: StartRun, caller: Caller) -> dict[str, Any]:
    pipelines.pipeline_ref(name)  # 404 unless the platform already knows it: clients never name code locations
    job = _jobs.start("run", {"name": name, "params": body.params}, user=caller.user)
    return {"pipeline": name, "params": body.params, "job": one(job)}
