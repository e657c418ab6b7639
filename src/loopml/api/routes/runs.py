"""Training routes: runs and experiments (list, search, show, metric series, comparison)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query

from loopml import train
from loopml.api._shapes import Filter, Id, Limit, Offset, Page, one, sliced
from loopml.api.auth import Principal, authorize

router = APIRouter(tags=["runs"])
Caller = Annotated[Principal, Depends(authorize)]
Kind = Literal["training", "tuning", "processing", "evaluation", "transform"]
Status = Literal["STARTING", "TRAINING", "INTERRUPTED", "COMPLETED", "FAILED", "STOPPED"]
Search = Annotated[str | None, Query(max_length=500, description="e.g. 'metrics.auc > 0.8 and params.max_depth = 6'")]
#: Metric names as runs log them (``validation:auc``, ``train:loss``): never starting with a dot (so never '..').
MetricKey = Annotated[str, Path(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.:@ \-]{0,249}$", max_length=250)]
OrderBy = Annotated[str | None, Query(max_length=300, description="e.g. 'metrics.auc DESC' or 'params.alpha ASC'")]
RunIds = Annotated[list[Annotated[str, Query(pattern=r"^[A-Za-z0-9_\-]{1,64}$")]], Query(min_length=1, max_length=20)]


@router.get("/runs", response_model=Page, summary="Runs, newest first (filter, search with ?q=, sort with ?order_by=)")
def list_runs(caller: Caller, experiment: Filter = None, kind: Kind | None = None, status: Status | None = None,
              parent_id: Filter = None, q: Search = None, order_by: OrderBy = None, top_level: bool = False,
              limit: Limit = 50, offset: Offset = 0) -> Page:
    if q:
        found = train.search_runs(q, experiment=experiment, top_level=top_level, order_by=order_by,
                                  limit=offset + limit)
    else:
        found = train.list_runs(experiment=experiment, kind=kind, status=status, parent_id=parent_id,
                                top_level=top_level, order_by=order_by, limit=offset + limit)
    return sliced(found, limit=limit, offset=offset)


@router.get("/runs/{run_id}", summary="Show a run")
def get_run(run_id: Id, caller: Caller) -> dict[str, Any]:
    return one(train.get_run(run_id))


@router.get("/runs/{run_id}/metrics/{key}", summary="Every value of one metric of a run")
def metric_history(run_id: Id, key: MetricKey, caller: Caller) -> dict[str, Any]:
    train.get_run(run_id)
    return {"run_id": run_id, "key": key, "points": [one(p) for p in train.metric_history(run_id, key)]}


@router.get("/run-comparisons", summary="Runs side by side (?ids=a&ids=b)")
def compare_runs(caller: Caller, ids: RunIds) -> dict[str, Any]:
    return one(train.compare_runs(ids))
