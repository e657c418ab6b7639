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

from loopml.serve._signature import Column
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
        return pd.DataFrame.from_records(rows)
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


def frame_from_json(doc: Any, columns: tuple[Column, ...]) -> pd.DataFrame:
    """A frame from any of the accepted JSON shapes."""
    if isinstance(doc, dict):
        for key in ("instances", "inputs", "dataframe_records"):
            if key in doc and len(doc) == 1:
                return frame_from_json(doc[key], columns)
        if "dataframe_split" in doc:
            return frame_from_json(doc["dataframe_split"], columns)
        if set(doc) >= {"columns", "data"} and isinstance(doc["data"], list):
            rows = doc["data"]
            names = doc["columns"]
            if not all(isinstance(r, list) and len(r) == len(names) for r in rows):
                raise MalformedRequest("every row of 'data' must be a list as long as 'columns'")
            return pd.DataFrame(rows, columns=names, dtype=object)
        if doc and all(isinstance(v, list) for v in doc.values()):
            lengths = {len(v) for v in doc.values()}
            if len(lengths) != 1:
                raise MalformedRequest(f"column lists have different lengths {sorted(lengths)}")
            return pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in doc.items()})
        return pd.DataFrame.from_records([doc])
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


def decode_v2(doc: Any, columns: tuple[Column, ...]) -> pd.DataFrame:
    """Open Inference Protocol v2 ``inputs``: one tensor per column, or one ``[rows, features]`` tensor."""
    inputs = doc.get("inputs") if isinstance(doc, dict) else None
    if not isinstance(inputs, list) or not inputs or not all(isinstance(t, dict) for t in inputs):
        raise MalformedRequest('an inference request needs "inputs": [{"name", "shape", "datatype", "data"}]')
    for t in inputs:
        if t.get("datatype") not in _V2_TYPES or not isinstance(t.get("data"), list):
            raise MalformedRequest(f"input {t.get('name')!r} needs a datatype in {sorted(_V2_TYPES)} and a data list")
    if len(inputs) == 1 and len(inputs[0].get("shape") or []) == 2:
        shape, data = inputs[0]["shape"], _flatten(inputs[0]["data"])
        if not all(isinstance(s, int) and s >= 0 for s in shape) or shape[0] * shape[1] != len(data):
            raise MalformedRequest(f"shape {shape} does not match {len(data)} data values")
        rows = [data[i * shape[1]:(i + 1) * shape[1]] for i in range(shape[0])]
        return _positional(rows, columns)
    lengths = {len(_flatten(t["data"])) for t in inputs}
    if len(lengths) != 1:
        raise MalformedRequest(f"input tensors have different lengths {sorted(lengths)}")
    return pd.DataFrame({str(t.get("name")): pd.Series(_flatten(t["data"]), dtype=object) for t in inputs})


def _flatten(data: list[Any]) -> list[Any]:
    if data and isinstance(data[0], list):
        return [x for part in data for x in _flatten(part)]
    return data


def to_jsonable(predictions: Any) -> list[Any]:
    """Predictions as JSON-safe values: NaN/Inf become null, numpy scalars become Python ones."""
    array = np.asarray(predictions)
    if array.dtype.kind == "f":
        clean = array.astype(object)
        clean[~np.isfinite(array)] = None
        return clean.tolist()
    return array.tolist()


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
