"""Browsing the artifacts of runs and model versions: list their files, preview one by its digest.

The client names a record and a digest, never a path: only files the record itself names can be previewed,
and the preview is bounded and typed (JSON, text, image as base64, the first rows of a Parquet table)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel

from loopml.api._shapes import Id, Name, Number, one
from loopml.api.auth import Principal, authorize
from loopml.registry.artifacts import preview_version_artifact, version_artifacts
from loopml.train.artifacts import preview_run_artifact, run_artifacts

router = APIRouter(tags=["artifacts"])
Caller = Annotated[Principal, Depends(authorize)]
Digest = Annotated[str, Path(pattern=r"^sha256:[0-9a-f]{64}$", description="The file's digest (sha256:…).")]


class Files(BaseModel):
    """The files a record names: ``{"items": [{"path", "digest", "size"}]}`` (``path`` is only a label)."""

    items: list[dict[str, Any]]


@router.get("/runs/{run_id}/artifacts", response_model=Files, summary="The files a run names")
def list_run_artifacts(run_id: Id, caller: Caller) -> Files:
    return Files(items=[one(f) for f in run_artifacts(run_id)])


@router.get("/runs/{run_id}/artifacts/{digest}", summary="A bounded preview of one of a run's files")
def preview_run(run_id: Id, digest: Digest, caller: Caller) -> dict[str, Any]:
    return preview_run_artifact(run_id, digest)


@router.get("/models/{group}/versions/{version}/artifacts", response_model=Files,
            summary="The files of a model version (model folder, evaluation report)")
def list_version_artifacts(group: Name, version: Number, caller: Caller) -> Files:
    return Files(items=[one(f) for f in version_artifacts(group, version)])


@router.get("/models/{group}/versions/{version}/artifacts/{digest}",
            summary="A bounded preview of one of a version's files")
def preview_version(group: Name, version: Number, digest: Digest, caller: Caller) -> dict[str, Any]:
    return preview_version_artifact(group, version, digest)
