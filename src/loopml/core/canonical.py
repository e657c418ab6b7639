"""Byte-stable skops files: the same estimator always gives the same bytes, so the same training gives the same
model digest (what ``loopml reproduce`` compares).

skops names each array file after ``id(obj)`` — a memory address — and stamps every zip entry with the time of
writing. Both change from one process to the next although the model does not. Here the object ids are
renumbered in the order the schema first meets them, the files are renamed to match, and every entry gets
the zip epoch as its time; skops loads the result as it loads its own output.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

_EPOCH = (1980, 1, 1, 0, 0, 0)


def canonical_skops(data: bytes) -> bytes:
    """``data`` (a skops file) with object ids, file names and entry times made independent of the process."""
    with zipfile.ZipFile(io.BytesIO(data)) as src:
        schema = json.loads(src.read("schema.json"))
        ids: dict[int, int] = {}
        files: dict[str, str] = {}
        _renumber(schema, ids, files)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as dst:
            _write(dst, "schema.json", json.dumps(schema, indent=2).encode(), zipfile.ZIP_STORED)
            for old, new in sorted(files.items(), key=lambda item: item[1]):
                _write(dst, new, src.read(old), src.getinfo(old).compress_type)
    return out.getvalue()


def _renumber(node: Any, ids: dict[int, int], files: dict[str, str]) -> None:
    if isinstance(node, list):
        for item in node:
            _renumber(item, ids, files)
        return
    if not isinstance(node, dict):
        return
    if isinstance(node.get("__id__"), int):
        node["__id__"] = ids.setdefault(node["__id__"], len(ids) + 1)
    name = node.get("file")
    if isinstance(name, str):
        suffix = name.rpartition(".")[2]
        node["file"] = files.setdefault(name, f"{len(files) + 1:06d}.{suffix}")
    for key in sorted(node):
        if key not in ("__id__", "file"):
            _renumber(node[key], ids, files)


def _write(dst: zipfile.ZipFile, name: str, payload: bytes, compression: int) -> None:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.compress_type = compression
    info.external_attr = 0o644 << 16
    dst.writestr(info, payload)
