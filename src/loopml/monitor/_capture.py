"""Captured records (SageMaker data-capture JSON Lines) to frames for the monitors.

Each record has ``captureData.endpointInput`` / ``endpointOutput`` (``observedContentType``, ``mode``,
``data``, ``encoding`` = JSON | CSV | BASE64) and ``eventMetadata`` (``eventId``, ``inferenceTime``).
A request may carry several rows; each row gets the record's event id (suffixed ``-<i>`` past the first
when there are several, so ground truth can label them one by one). A record that cannot be decoded is
counted, never fatal.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from loopml.core import clock


@dataclass(frozen=True)
class CapturedWindow:
    """The decoded records of one window.

    Attributes:
        inputs: One row per predicted row, one column per input feature.
        outputs: ``eventId``, ``prediction`` and (when the response had scores) ``probability``.
        records: Capture records in the window.
        undecodable: Records whose input or output could not be decoded.
    """

    inputs: pd.DataFrame
    outputs: pd.DataFrame
    records: int
    undecodable: int


def in_window(record: dict[str, Any], start: datetime, end: datetime) -> bool:
    """Whether a record's ``inferenceTime`` falls in ``[start, end)``."""
    text = str(record.get("eventMetadata", {}).get("inferenceTime", ""))
    try:
        at = clock.as_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        return False
    return start <= at < end


def decode_window(records: list[dict[str, Any]], columns: list[str]) -> CapturedWindow:
    """Decode records into input and output frames; ``columns`` names CSV inputs (the signature order)."""
    inputs: list[dict[str, Any]] = []
    outputs: list[dict[str, Any]] = []
    bad = 0
    for record in records:
        try:
            rows = _rows(record["captureData"]["endpointInput"], columns)
            preds = _predictions(record["captureData"].get("endpointOutput"), len(rows))
        except (KeyError, ValueError, TypeError):
            bad += 1
            continue
        event_id = str(record.get("eventMetadata", {}).get("eventId", ""))
        for i, row in enumerate(rows):
            rid = event_id if i == 0 else f"{event_id}-{i}"
            inputs.append({**row, "__event_id": rid})
            outputs.append({"eventId": rid, **preds[i]})
    frame = pd.DataFrame(inputs)
    if "__event_id" in frame:
        frame = frame.set_index("__event_id")
        frame.index.name = None
    return CapturedWindow(frame, pd.DataFrame(outputs), len(records), bad)


def _text(payload: dict[str, Any]) -> str:
    data = payload["data"]
    if payload.get("encoding", "JSON").upper() == "BASE64":
        return base64.b64decode(data).decode("utf-8")
    return str(data)


def _rows(payload: dict[str, Any], columns: list[str]) -> list[dict[str, Any]]:
    text = _text(payload)
    kind = str(payload.get("observedContentType", "")).split(";")[0].strip().lower()
    if kind == "text/csv" or payload.get("encoding", "").upper() == "CSV":
        return [dict(zip(columns, map(_csv_value, row), strict=False)) for row in csv.reader(io.StringIO(text)) if row]
    return _json_rows(json.loads(text))


def _csv_value(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return text


def _json_rows(doc: Any) -> list[dict[str, Any]]:
    if isinstance(doc, dict):
        for key in ("instances", "inputs", "dataframe_records"):
            if key in doc:
                return _json_rows(doc[key])
        if "dataframe_split" in doc:
            return _json_rows(doc["dataframe_split"])
        if {"columns", "data"} <= set(doc):
            return [dict(zip(doc["columns"], row, strict=True)) for row in doc["data"]]
        if doc and all(isinstance(v, list) for v in doc.values()):
            return pd.DataFrame(doc).to_dict(orient="records")
        return [doc]
    if isinstance(doc, list) and all(isinstance(r, dict) for r in doc):
        return list(doc)
    raise ValueError("the captured input is not a table")


def _predictions(payload: dict[str, Any] | None, count: int) -> list[dict[str, Any]]:
    if payload is None:
        return [{} for _ in range(count)]
    text = _text(payload)
    try:
        doc: Any = json.loads(text)
    except ValueError:
        doc = [_csv_value(line) for line in text.splitlines() if line.strip()]
    if isinstance(doc, dict):
        doc = _from_dict(doc)
    items = list(doc) if isinstance(doc, list) else [doc]
    if len(items) != count:
        raise ValueError("prediction count does not match the input rows")
    return [_one(item) for item in items]


def _from_dict(doc: dict[str, Any]) -> list[Any]:
    preds = doc.get("predictions", doc.get("outputs", []))
    probs = doc.get("probabilities")
    if isinstance(probs, list) and len(probs) == len(preds):
        return [{"prediction": p, "probability": q} for p, q in zip(preds, probs, strict=True)]
    return list(preds)


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
