"""Data routes: the dataset catalog and feature groups (read-only over HTTP)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from loopml import data, features
from loopml.api._shapes import Limit, Name, Number, Offset, Page, one, sliced
from loopml.api.auth import Principal, authorize

router = APIRouter(tags=["data"])
Caller = Annotated[Principal, Depends(authorize)]


@router.get("/datasets", response_model=Page, summary="The latest version of every dataset")
def list_datasets(caller: Caller, limit: Limit = 50, offset: Offset = 0) -> Page:
    return sliced(data.list_datasets(), limit=limit, offset=offset)


@router.get("/datasets/{name}", summary="The latest version of a dataset")
def get_dataset(name: Name, caller: Caller) -> dict[str, Any]:
    return one(data.get_dataset(name))


@router.get("/datasets/{name}/versions", response_model=Page, summary="Every version of a dataset")
def dataset_versions(name: Name, caller: Caller, limit: Limit = 50, offset: Offset = 0) -> Page:
    return sliced(data.dataset_versions(name), limit=limit, offset=offset)


@router.get("/datasets/{name}/versions/{version}", summary="One version of a dataset")
def get_dataset_version(name: Name, version: Number, caller: Caller) -> dict[str, Any]:
    return one(data.get_dataset(name, version))


@router.get("/feature-groups", response_model=Page, summary="Feature groups (latest definitions)")
def list_feature_groups(caller: Caller, limit: Limit = 50, offset: Offset = 0) -> Page:
    return sliced(features.list_feature_groups(), limit=limit, offset=offset)


@router.get("/feature-groups/{name}", summary="A feature group with what was ingested and materialized")
def describe_feature_group(name: Name, caller: Caller) -> dict[str, Any]:
    return one(features.describe_feature_group(name))
