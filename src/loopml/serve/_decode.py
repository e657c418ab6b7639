"""Request bodies to frames and predictions to response bodies.

JSON accepts records (``[{...}]``), columns (``{"a": [...]}``), split (``{"columns": [...], "data": [[...]]}``),
``{"instances": ...}``, ``{"inputs": ...}`` and MLflow's ``dataframe_split`` / ``dataframe_records``.
CSV rows follow the signature's column order, with an optional header. The Open Inference Protocol v2
``inputs`` tensors are decoded in :func:`decode_v2`. Pickle-family content types are refused.
"""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

import numpy as np
import pandas as pd

from loopml.errors import ValidationError
from loopml.serve._signature import Column
from loopml.serve._signature import short_repr as _short
from loopml.serve.errors import MalformedRequest, UnsupportedMediaType

JSON_TYPES = ("application/json", "application/jsonlines", "application/x-json")
CSV_TYPES = ("text/csv", "application/csv")


def media_type(content_type: str | None) -> str:
    """``"application/json; charset=utf-8"`` → ``"application/json"`` (no header means JSON)."""
    return (content_type or "application/json").split(";", 1)[0].strip().lower()


def parse_json(body: bytes) -> Any:
    """Parse JSON; a syntax error, bad UTF-8 or absurd nesting is a 400."""
    try:
        return json.loads(body)
    except RecursionError as exc:
        raise MalformedRequest("the JSON body is nested too deeply; send flat records") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedRequest(f"the body is not valid JSON ({str(exc)[:120]}); send records, columns or "
                               '{"instances": [...]}') from exc


def _from_rows(rows: list[Any], columns: tuple[Column, ...]) -> pd.DataFrame:
    if not rows:
        return pd.DataFrame(columns=[c.name for c in columns])
    if all(isinstance(r, dict) for r in rows):
        return pd.DataFrame(rows, dtype=object)
    if all(isinstance(r, list) for r in rows):
        return _positional(rows, columns)
    if not any(isinstance(r, (list, dict)) for r in rows) and columns:
        return _positional([rows], columns)
    raise MalformedRequest("instances mix records and lists; send a list of records or a list of rows")


def _positional(rows: list[list[Any]], columns: tuple[Column, ...]) -> pd.DataFrame:
    names = [c.name for c in columns]
    for i, row in enumerate(rows):
        if names and len(row) != len(names):
            raise MalformedRequest(f"row {i} has {len(row)} values; the model expects {len(names)} "
                                   f"({', '.join(names)})", pointer=f"/{i}")
    return pd.DataFrame(rows, columns=names or None, dtype=object)


def _split(names: Any, rows: Any) -> pd.DataFrame:
    """The ``split`` orient: ``columns`` a list of distinct names, ``data`` a list of rows as long as it."""
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
        raise MalformedRequest("'columns' must be a list of distinct column names, e.g. "
                               '{"columns": ["a", "b"], "data": [[1, 2]]}', pointer="/columns")
    if not isinstance(rows, list):
        raise MalformedRequest("'data' must be a list of rows, each a list as long as 'columns'", pointer="/data")
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != len(names):
            raise MalformedRequest(f"row {i} of 'data' is not a list of {len(names)} values (one per column)",
                                   pointer=f"/data/{i}")
    return pd.DataFrame(rows, columns=names, dtype=object)


def frame_from_json(doc: Any, columns: tuple[Column, ...]) -> pd.DataFrame:
    """A frame from any of the accepted JSON shapes."""
    if isinstance(doc, dict):
        for key in ("instances", "inputs", "dataframe_records"):
            if key in doc and len(doc) == 1:
                return frame_from_json(doc[key], columns)
        if "dataframe_split" in doc:
            return frame_from_json(doc["dataframe_split"], columns)
        if set(doc) >= {"columns", "data"}:
            return _split(doc["columns"], doc["data"])
        if doc and all(isinstance(v, list) for v in doc.values()):
            lengths = {len(v) for v in doc.values()}
            if len(lengths) != 1:
                raise MalformedRequest(f"column lists have different lengths {sorted(lengths)}")
            return pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in doc.items()})
        return pd.DataFrame([doc], dtype=object)
    if isinstance(doc, list):
        return _from_rows(doc, columns)
    raise MalformedRequest(f"a JSON {type(doc).__name__} is not a table; send records, columns or instances")


def _csv_value(text: str, col: Column | None) -> Any:
    if col is None or col.kind == "string":
        return text
    if text == "":
        return None
    if col.kind == "boolean":
        return {"true": True, "false": False, "1": True, "0": False}.get(text.lower(), text)
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if col.kind == "long" and math.isfinite(number) and number.is_integer() else number


def frame_from_csv(body: bytes, columns: tuple[Column, ...]) -> pd.DataFrame:
    """A frame from CSV; the first line is a header when it equals the signature's column names."""
    try:
        rows = list(csv.reader(io.StringIO(body.decode("utf-8"))))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise MalformedRequest(f"the body is not valid UTF-8 CSV ({exc})") from exc
    rows = [r for r in rows if r]
    names = [c.name for c in columns]
    if rows and (rows[0] == names or not names):
        names, rows = rows[0], rows[1:]
    by_name = {c.name: c for c in columns}
    for i, row in enumerate(rows):
        if len(row) != len(names):
            raise MalformedRequest(f"CSV line {i + 1} has {len(row)} fields; expected {len(names)} ({names})")
    data = [[_csv_value(v, by_name.get(n)) for n, v in zip(names, row, strict=True)] for row in rows]
    return pd.DataFrame(data, columns=names, dtype=object)


def decode(body: bytes, content_type: str | None, columns: tuple[Column, ...]) -> pd.DataFrame:
    """Decode a ``/invocations`` body by content type; unknown and pickle types are a 415."""
    kind = media_type(content_type)
    if kind in JSON_TYPES:
        return frame_from_json(parse_json(body), columns)
    if kind in CSV_TYPES:
        return frame_from_csv(body, columns)
    raise UnsupportedMediaType(f"content type {kind!r} is not accepted; send application/json or text/csv "
                               "(pickle-family types are never deserialized)")


_V2_TYPES = {"FP64", "FP32", "FP16", "INT64", "INT32", "INT16", "INT8", "UINT64", "UINT32", "UINT16", "UINT8",
             "BOOL", "BYTES"}
_MAX_DIMS = 8


def decode_v2(doc: Any, columns: tuple[Column, ...], *, max_rows: int | None = None) -> pd.DataFrame:
    """Open Inference Protocol v2 ``inputs``: one tensor per column, or one ``[rows, features]`` tensor.

    Every stated shape is checked arithmetically (rows within ``max_rows``, features matching the
    signature, the product equal to the number of values) before anything is allocated, so a client
    cannot make the server do work in proportion to a number it merely states.
    """
    inputs = doc.get("inputs") if isinstance(doc, dict) else None
    if not isinstance(inputs, list) or not inputs or not all(isinstance(t, dict) for t in inputs):
        raise MalformedRequest('an inference request needs "inputs": [{"name", "shape", "datatype", "data"}]',
                               pointer="/inputs")
    for i, t in enumerate(inputs):
        _check_tensor(t, i, max_rows=max_rows)
    if len(inputs) == 1 and len(inputs[0]["shape"]) == 2:
        rows, width = inputs[0]["shape"]
        if columns and width != len(columns):
            raise MalformedRequest(f"input {inputs[0].get('name')!r} has shape {inputs[0]['shape']}: {width} "
                                   f"features per row, but the model expects {len(columns)} "
                                   f"({', '.join(c.name for c in columns)})", pointer="/inputs/0/shape")
        data = _flatten(inputs[0]["data"], rows * width, pointer="/inputs/0/data")
        return _positional([data[i * width:(i + 1) * width] for i in range(rows)], columns)
    flat = {str(t.get("name")): _flatten(t["data"], math.prod(t["shape"]), pointer=f"/inputs/{i}/data")
            for i, t in enumerate(inputs)}
    lengths = {len(v) for v in flat.values()}
    if len(lengths) != 1:
        raise MalformedRequest(f"input tensors have different lengths {sorted(lengths)}; send one value per row "
                               "in each", pointer="/inputs")
    return pd.DataFrame({name: pd.Series(values, dtype=object) for name, values in flat.items()})


def _check_tensor(t: dict[str, Any], i: int, *, max_rows: int | None) -> None:
    """Datatype, data and shape of one input tensor, checked without touching the data."""
    where = f"/inputs/{i}"
    if t.get("datatype") not in _V2_TYPES or not isinstance(t.get("data"), list):
        raise MalformedRequest(f"input {_short(t.get('name'))} needs a datatype in {sorted(_V2_TYPES)} and a data "
                               "list", pointer=where)
    shape = t.get("shape")
    if (not isinstance(shape, list) or not 1 <= len(shape) <= _MAX_DIMS
            or not all(type(s) is int and s >= 0 for s in shape)):
        raise MalformedRequest(f"input {_short(t.get('name'))} needs a shape: a list of 1 to {_MAX_DIMS} "
                               f"non-negative integers, got {_short(shape)}", pointer=f"{where}/shape")
    if max_rows is not None and shape[0] > max_rows:
        raise ValidationError(f"input {_short(t.get('name'))} states {shape[0]} rows; at most {max_rows} are "
                              "allowed per request; split it or use batch transform", pointer=f"{where}/shape/0")
    if 0 in shape[1:]:
        raise MalformedRequest(f"input {_short(t.get('name'))} has shape {shape}: a row with no values cannot be "
                               "predicted", pointer=f"{where}/shape")


def _flatten(data: list[Any], expected: int, *, pointer: str) -> list[Any]:
    """Row-major values of ``data`` (flat or nested evenly, at most ``_MAX_DIMS`` deep), exactly ``expected``.

    Iterative, so no nesting depth can exhaust the stack; it stops as soon as the count is exceeded.
    """
    if not data or not isinstance(data[0], list):
        if any(isinstance(x, (list, dict)) for x in data):
            raise MalformedRequest("tensor data mixes lists and values; nest it evenly or send it flat",
                                   pointer=pointer)
        if len(data) != expected:
            raise MalformedRequest(f"the shape states {expected} values but data holds {len(data)}", pointer=pointer)
        return data
    level, depth = data, 1
    while level and isinstance(level[0], list):
        if depth > _MAX_DIMS:
            raise MalformedRequest(f"tensor data is nested more than {_MAX_DIMS} deep", pointer=pointer)
        if not all(isinstance(part, list) for part in level):
            raise MalformedRequest("tensor data is ragged: it mixes lists and values at one depth", pointer=pointer)
        width = len(level[0])
        if any(len(part) != width for part in level):
            raise MalformedRequest("tensor data is ragged: rows of different lengths", pointer=pointer)
        if len(level) * width > expected:
            raise MalformedRequest(f"tensor data holds more values than its shape states ({expected})",
                                   pointer=pointer)
        level = [x for part in level for x in part]
        depth += 1
    return _flatten(level, expected, pointer=pointer)


def decode_request(body: bytes, content_type: str | None = "application/json",
                   columns: tuple[Column, ...] | list[str] = (), *, v2: bool | None = None) -> pd.DataFrame:
    """A request body as the server decodes it, as a frame (not yet checked against a signature).

    The one decoder of loopml: replicas use it for every request, and monitors use it to read captured
    requests. JSON (records, columns, split, ``instances``/``inputs``, MLflow's ``dataframe_split`` and
    ``dataframe_records``), CSV (columns in signature order, optional header) and Open Inference Protocol
    v2 tensors (``v2=None`` recognises them by their ``datatype`` fields).

    Args:
        body: the request bytes (already decompressed).
        content_type: the request's ``Content-Type``; pickle-family and unknown types are refused.
        columns: the signature's columns, or just their names (CSV without a header needs them).
        v2: True for an OIP v2 body, False for the SageMaker shapes, None to recognise it.

    Raises:
        MalformedRequest: the body cannot be parsed or is not a table (a ``ValueError``).
        UnsupportedMediaType: the content type is not JSON or CSV.
    """
    cols = tuple(Column(c, "double") if isinstance(c, str) else c for c in columns)  # CSV numbers as numbers
    if v2 is not False and media_type(content_type) in JSON_TYPES:
        doc = parse_json(body)
        if v2 or is_v2(doc):
            return decode_v2(doc, cols)
        return frame_from_json(doc, cols)
    return decode(body, content_type, cols)


def is_v2(doc: Any) -> bool:
    """Whether a parsed JSON body is an OIP v2 inference request (tensors with a ``datatype``)."""
    inputs = doc.get("inputs") if isinstance(doc, dict) else None
    return (isinstance(inputs, list) and bool(inputs)
            and all(isinstance(t, dict) and "datatype" in t and "data" in t for t in inputs))


def to_jsonable(predictions: Any) -> list[Any]:
    """Predictions as JSON-safe values: NaN/Inf become null, numpy scalars become Python ones."""
    array = np.asarray(predictions)
    if array.dtype.kind == "f":
        clean = array.astype(object)
        clean[~np.isfinite(array)] = None
        cleaned: list[Any] = clean.tolist()
        return cleaned
    values: list[Any] = array.tolist()
    return values


def v2_datatype(values: np.ndarray) -> str:
    """The OIP v2 datatype of a prediction array."""
    return {"f": "FP64", "i": "INT64", "u": "UINT64", "b": "BOOL"}.get(values.dtype.kind, "BYTES")


def encode_csv(predictions: list[Any]) -> bytes:
    """One line per prediction (rows of probabilities become comma-separated lines)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for item in predictions:
        writer.writerow(item if isinstance(item, list) else [item])
    return out.getvalue().encode()
