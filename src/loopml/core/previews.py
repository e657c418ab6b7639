"""Browsing stored artifacts: the files a record names, and a safe preview of one of them.

A record (a run, a model version) names artifacts by digest; a folder artifact stands for its files. The
browser lists them as ``(path, digest, size)`` and previews a file *by its digest* — no path from a client
ever reaches a filesystem: the path is only a label for people. Previews are bounded (16 MiB read, 64 KiB
of text, 50 rows of a table) and typed: JSON, text, an image, a Parquet table, or binary (size only).
"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import asdict, dataclass
from pathlib import PurePosixPath
from typing import Any

from loopml.core import context
from loopml.core.artifacts import DIR_MEDIA_TYPE
from loopml.errors import NotFoundError, ValidationError

MAX_READ, MAX_TEXT, MAX_ROWS = 16 << 20, 64 << 10, 50
IMAGES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg", b"GIF87a": "image/gif",
          b"GIF89a": "image/gif"}


@dataclass(frozen=True)
class ArtifactFile:
    """One browsable file: a label for people (``model/model.json``), its digest and size in bytes."""

    path: str
    digest: str
    size: int | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _manifest(data: bytes) -> dict[str, Any] | None:
    try:
        found = json.loads(data)
    except (UnicodeDecodeError, ValueError):
        return None
    return found if isinstance(found, dict) and found.get("media_type") == DIR_MEDIA_TYPE else None


def expand(named: dict[str, str | None]) -> list[ArtifactFile]:
    """The files of named artifacts (``{"model": "sha256:…"}``); a folder artifact becomes its files under
    its name. Names without a digest, or whose digest is not in the store, are left out."""
    store, out = context.get_artifacts(), []
    for name, digest in named.items():
        if not digest or not store.exists(digest):
            continue
        size = store.size(digest)
        manifest = _manifest(store.get_bytes(digest)) if size <= MAX_READ else None
        if manifest is None:
            out.append(ArtifactFile(name, digest, size))
            continue
        out += [ArtifactFile(f"{name}/{entry['path']}", entry["sha256"], entry.get("size")) for entry in
                store.read_manifest(digest)["files"]]
    return out


def find(files: list[ArtifactFile], digest: str, *, owner: str) -> ArtifactFile:
    """The file with ``digest`` among ``files`` (a record may only show its own artifacts)."""
    for item in files:
        if item.digest == digest:
            return item
    raise NotFoundError(f"{owner} has no artifact {digest}; list its artifacts first", digest=digest)


def _table(data: bytes) -> dict[str, Any]:
    import pyarrow.parquet as pq

    try:
        table = pq.ParquetFile(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001  (any Parquet reader error means "not a readable table")
        raise ValidationError(f"the file is not a readable Parquet table: {type(exc).__name__}") from exc
    head = table.read_row_group(0).slice(0, MAX_ROWS) if table.num_row_groups else table.schema_arrow.empty_table()
    rows = json.loads(head.to_pandas().to_json(orient="values", date_format="iso", default_handler=str))
    return {"kind": "table", "columns": [f"{f.name}: {f.type}" for f in table.schema_arrow],
            "rows": rows, "total_rows": table.metadata.num_rows}


def _text(data: bytes, suffix: str) -> dict[str, Any] | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if suffix == ".json" or text.lstrip()[:1] in ("{", "["):
        try:
            return {"kind": "json", "json": json.loads(text)} if len(data) <= MAX_TEXT * 4 else \
                {"kind": "text", "text": text[:MAX_TEXT], "truncated": True}
        except ValueError:
            pass
    return {"kind": "text", "text": text[:MAX_TEXT], "truncated": len(text) > MAX_TEXT}


def preview(item: ArtifactFile) -> dict[str, Any]:
    """A bounded, typed preview of a file (hash-verified); never a path, never markup to render."""
    store = context.get_artifacts()
    base = item.to_dict()
    size = item.size if item.size is not None else store.size(item.digest)
    if size > MAX_READ:
        return {**base, "kind": "large", "note": f"{size} bytes: too large to preview; fetch it by digest"}
    data = store.get_bytes(item.digest)
    suffix = PurePosixPath(item.path).suffix.lower()
    if data[:4] == b"PAR1" or suffix == ".parquet":
        return {**base, **_table(data)}
    media = next((m for magic, m in IMAGES.items() if data.startswith(magic)), None)
    if media:
        return {**base, "kind": "image", "media_type": media, "base64": base64.b64encode(data).decode()}
    return {**base, **(_text(data, suffix) or {"kind": "binary", "note": f"{len(data)} bytes of binary data"})}
