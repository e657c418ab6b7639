"""Captured records (SageMaker data-capture JSON Lines) to frames for the monitors.

Each record has ``captureData.endpointInput`` / ``endpointOutput`` (``observedContentType``, ``mode``,
``data``, ``encoding`` = JSON | CSV | BASE64) and ``eventMetadata`` (``eventId``, ``inferenceTime``, and
``inferenceId`` when the caller sent one). The request body is decoded by the model server's own decoder
(:func:`loopml.serve.decode_request`) and checked against the model's signature as the server checks it
(:func:`loopml.serve.check_frame`), so every shape the server accepts (records, rows, columns, split,
``instances``/``inputs``, CSV with or without a header, OIP v2 tensors) gives exactly the rows the model saw.

A request may carry several rows; each row gets the record's ids, suffixed ``-<i>`` past the first, so
ground truth can label them one by one. Ground truth merges on ``inferenceId`` when the record has one,
else on ``eventId`` (as Model Monitor does); that id is the ``mergeId`` column. A record that cannot be
decoded is counted, never fatal.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from loopml.errors import LoopmlError
from loopml.serve.capture import inference_time

OUTPUT_COLUMNS = ["eventId", "inferenceId", "mergeId", "prediction", "probability"]


@dataclass(frozen=True)
class CapturedWindow:
    """The decoded records of one window.

    Attributes:
        inputs: One row per predicted row, one column per input feature, indexed by row event id.
        outputs: ``eventId``, ``inferenceId``, ``mergeId``, ``prediction`` and ``probability`` per row.
        records: Capture records in the window.
        undecodable: Records whose input or output could not be decoded.
        start: The window's start (UTC), when known.
        end: The window's end (UTC, exclusive), when known.
    """

    inputs: pd.DataFrame
    outputs: pd.DataFrame
    records: int
    undecodable: int
    start: datetime | None = None
    end: datetime | None = None


def in_window(record: dict[str, Any], start: datetime, end: datetime) -> bool:
    """Whether a record's ``inferenceTime`` falls in ``[start, end)``."""
    at = inference_time(record)
    return at is not None and start <= at < end


def merge_ids(record: dict[str, Any], rows: int) -> tuple[list[str], list[str | None], list[str]]:
    """Per row: the event id, the inference id (or None), and the id ground truth merges on."""
    meta = record.get("eventMetadata", {})
    event, inference = str(meta.get("eventId", "")), meta.get("inferenceId")
    events = [_row_id(event, i) for i in range(rows)]
    inferences = [None if inference in (None, "") else _row_id(str(inference), i) for i in range(rows)]
    return events, inferences, [i if i is not None else e for e, i in zip(events, inferences, strict=True)]


def decode_window(records: list[dict[str, Any]], columns: tuple[Any, ...], *, check: bool) -> CapturedWindow:
    """Decode records into input and output frames.

    Args:
        records: Capture records.
        columns: The model's signature (:class:`loopml.serve.Column` tuple), or columns typed from the
            baseline when the model is not served here.
        check: Convert to the signature's dtypes, as the server did (only with the model's own signature);
            a record the server would have refused counts as undecodable. The check runs once over the
            whole window (it converts value by value, so this equals checking each request).
    """
    names = [c.name for c in columns]
    frames: list[pd.DataFrame] = []
    outputs: list[list[dict[str, Any]]] = []
    bad = 0
    for record in records:
        try:
            frame, preds = _decode_record(record, columns)
        except (LoopmlError, KeyError, ValueError, TypeError):
            bad += 1
            continue
        if check and names and list(frame.columns) != names:
            if sorted(map(str, frame.columns)) != sorted(names):
                bad += 1  # a missing or extra column: the server refused such a request
                continue
            frame = frame[names]
        events, inferences, merges = merge_ids(record, len(frame))
        frames.append(frame)
        outputs.append([{"eventId": e, "inferenceId": i, "mergeId": m, **p}
                        for e, i, m, p in zip(events, inferences, merges, preds, strict=True)])
    inputs = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=names)
    if check and frames:
        inputs, refused = _checked(inputs, [len(f) for f in frames], columns)
        outputs = [rows for i, rows in enumerate(outputs) if i not in refused]
        bad += len(refused)
    elif not check:
        inputs = inputs.infer_objects()
    rows = [o for group in outputs for o in group]
    inputs.index = pd.Index([o["eventId"] for o in rows], dtype=object)
    return CapturedWindow(inputs, pd.DataFrame(rows, columns=OUTPUT_COLUMNS), len(records), bad)


def _checked(whole: pd.DataFrame, sizes: list[int], columns: tuple[Any, ...]) -> tuple[pd.DataFrame, set[int]]:
    """The window converted to the signature's dtypes, without the records a value of which the server
    would refuse (their positions are returned)."""
    from loopml.serve import check_frame

    owner = np.repeat(np.arange(len(sizes)), sizes)
    refused: set[int] = set()
    while True:  # check_frame names at most 1,000 bad values per column: check again until none is left
        keep = ~np.isin(owner, list(refused))
        clean, errors = check_frame(whole[keep].reset_index(drop=True), columns)
        if not errors:
            return clean, refused
        refused |= {int(owner[keep][e.row]) for e in errors}


def _decode_record(record: dict[str, Any], columns: tuple[Any, ...]) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    from loopml.serve import decode_request

    payload = record["captureData"]["endpointInput"]
    body, kind = _bytes(payload), payload.get("observedContentType")
    frame = decode_request(body, kind, columns or _positional(body, kind))
    if len(frame) == 0:
        raise ValueError("the captured request holds no rows")
    return frame, _predictions(record["captureData"].get("endpointOutput"), len(frame))


def _positional(body: bytes, content_type: str | None) -> tuple[Any, ...]:
    """Without any column names, CSV columns are ``_c0, _c1, ...`` (as Spark, and so Model Monitor, name
    them), so the first row is data, never taken for a header."""
    from loopml.serve import Column

    if "csv" not in str(content_type).lower():
        return ()
    first = next(csv.reader(io.StringIO(body.decode("utf-8"))), [])
    return tuple(Column(f"_c{i}", "string") for i in range(len(first)))


def _row_id(base: str, index: int) -> str:
    return base if index == 0 else f"{base}-{index}"


def _bytes(payload: dict[str, Any]) -> bytes:
    data = payload["data"]
    if str(payload.get("encoding", "JSON")).upper() == "BASE64":
        return base64.b64decode(data, validate=True)
    return str(data).encode("utf-8")


def _predictions(payload: dict[str, Any] | None, count: int) -> list[dict[str, Any]]:
    if payload is None:
        return [{} for _ in range(count)]
    text = _bytes(payload).decode("utf-8")
    try:
        items = _json_items(json.loads(text), count)
    except ValueError:
        items = _csv_items(text, count)
    if len(items) != count:
        raise ValueError("prediction count does not match the input rows")
    return [_one(item) for item in items]


def _json_items(doc: Any, count: int) -> list[Any]:
    if isinstance(doc, dict) and isinstance(doc.get("outputs"), list):
        return _v2_items(doc["outputs"], count)
    if isinstance(doc, dict):
        preds = doc.get("predictions", doc.get("outputs"))
        if not isinstance(preds, list):
            raise TypeError("the captured response has no predictions")
        probs = doc.get("probabilities")
        if isinstance(probs, list) and len(probs) == len(preds):
            return [{"prediction": p, "probability": q} for p, q in zip(preds, probs, strict=True)]
        return list(preds)
    return list(doc) if isinstance(doc, list) else [doc]


def _v2_items(tensors: list[Any], count: int) -> list[Any]:
    """OIP v2 ``outputs``: the ``predictions`` tensor (or the first), one item (or row) per input row."""
    if not tensors or not all(isinstance(t, dict) for t in tensors):
        raise TypeError("the captured response has no output tensors")
    tensor = next((t for t in tensors if t.get("name") == "predictions"), tensors[0])
    data = _flatten(tensor.get("data") or [])
    if count and len(data) == count:
        return data
    width = len(data) // count if count else 0
    if not width or width * count != len(data):
        raise ValueError("the output tensor does not match the input rows")
    return [data[i * width:(i + 1) * width] for i in range(count)]


def _flatten(data: list[Any]) -> list[Any]:
    return [x for part in data for x in _flatten(part)] if data and isinstance(data[0], list) else list(data)


def _csv_items(text: str, count: int) -> list[Any]:
    rows = [[_number(v) for v in row] for row in csv.reader(io.StringIO(text)) if row]
    if len(rows) == count:
        return [row[0] if len(row) == 1 else row for row in rows]
    if len(rows) == 1 and len(rows[0]) == count:
        return rows[0]
    raise ValueError("the CSV predictions do not match the input rows")


def _number(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return text


def _one(item: Any) -> dict[str, Any]:
    if isinstance(item, dict):
        out = {"prediction": item.get("prediction", item.get("label", item.get("predicted_label")))}
        score = item.get("probability", item.get("score"))
        if isinstance(score, list):
            score = score[-1] if score else None
        if score is not None:
            out["probability"] = score
        return out
    if isinstance(item, list) and item and all(isinstance(x, int | float) for x in item):
        return {"prediction": max(range(len(item)), key=item.__getitem__), "probability": item[-1]}
    return {"prediction": item}
