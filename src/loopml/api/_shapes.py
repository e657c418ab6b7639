"""Shared request shapes: pagination, name patterns for path parameters, and the list envelope."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query
from fastapi.encoders import jsonable_encoder
from pydantic import AfterValidator, BaseModel, ConfigDict

from loopml.core import names

#: Names in paths follow the one rule for names (:mod:`loopml.core.names`): never '.', '..' or a look-alike.
NAME_PATTERN = names.PATTERN
ID_PATTERN = r"^[A-Za-z0-9_\-]{1,64}$"

Name = Annotated[str, Path(pattern=NAME_PATTERN, max_length=200)]
Id = Annotated[str, Path(pattern=ID_PATTERN)]
Number = Annotated[int, Path(ge=1, le=2**31 - 1)]
Limit = Annotated[int, Query(ge=1, le=500, description="Page size (1-500).")]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1, description="How many items to skip.")]


def _plain_filter(value: str | None) -> str | None:
    """Filters are names or ``kind:name/version`` prefixes: refuse anything shaped like a path trick."""
    if value is None:
        return value
    if ".." in value or ":/" in value or value.startswith(("/", "~")) or not value.isprintable() or any(
            c in value for c in "\\%#;?"):
        raise ValueError(f"{value!r} is not a plain name or prefix; use letters, digits and - _ . : / @")
    return value


Filter = Annotated[str | None, Query(max_length=200), AfterValidator(_plain_filter)]


class Page(BaseModel):
    """One page of a list: ``items``, the ``limit`` and ``offset`` used, and ``next_offset`` (None at the end)."""

    items: list[dict[str, Any]]
    limit: int
    offset: int
    next_offset: int | None


class Body(BaseModel):
    """Base of request bodies: unknown fields are refused (422), so nobody can smuggle ``created_by``."""

    model_config = ConfigDict(extra="forbid")


def page(items: list[Any], *, limit: int, offset: int) -> Page:
    """Wrap one page of stage objects (dataclasses or dicts) already fetched with ``limit``/``offset``."""
    rows = [jsonable_encoder(getattr(item, "to_dict", lambda i=item: i)()) for item in items]
    return Page(items=rows, limit=limit, offset=offset, next_offset=offset + limit if len(rows) == limit else None)


def sliced(items: list[Any], *, limit: int, offset: int) -> Page:
    """Paginate a list a stage returns whole."""
    return page(items[offset:offset + limit], limit=limit, offset=offset)


def one(item: Any) -> dict[str, Any]:
    """A stage object as a JSON-safe dict."""
    encoded: dict[str, Any] = jsonable_encoder(getattr(item, "to_dict", lambda: item)())
    return encoded
