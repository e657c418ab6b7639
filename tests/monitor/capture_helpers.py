"""Build SageMaker data-capture records and store them as an endpoint's capture files (no server needed)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from loopml.serve import capture


def record(event_id: str, row: dict[str, Any], prediction: Any, at: datetime, *, csv: bool = False) -> dict[str, Any]:
    """One capture record in the documented shape (JSON instances, or a CSV line)."""
    if csv:
        body, kind, enc = ",".join(str(v) for v in row.values()), "text/csv", "CSV"
    else:
        body, kind, enc = json.dumps({"instances": [row]}), "application/json", "JSON"
    return {
        "captureData": {
            "endpointInput": {"observedContentType": kind, "mode": "INPUT", "data": body, "encoding": enc},
            "endpointOutput": {"observedContentType": "application/json", "mode": "OUTPUT",
                               "data": json.dumps({"predictions": [prediction]}), "encoding": "JSON"},
        },
        "eventMetadata": {"eventId": event_id, "inferenceTime": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")},
        "eventVersion": "0",
    }


def records_for(frame: pd.DataFrame, start: datetime, *, prefix: str = "e", spacing: float = 1.0,
                predictions: Any = None) -> list[dict[str, Any]]:
    """One record per row, ``spacing`` seconds apart from ``start``."""
    preds = np.zeros(len(frame), dtype=int) if predictions is None else np.asarray(predictions)
    rows = frame.to_dict(orient="records")
    return [record(f"{prefix}{i}", {k: _plain(v) for k, v in row.items()}, _plain(preds[i]),
                   start + timedelta(seconds=spacing * i)) for i, row in enumerate(rows)]


def store(endpoint: str, records: list[dict[str, Any]], folder: Path) -> int:
    """Write records into hourly spool files and upload them as the endpoint's capture."""
    for rec in records:
        at = datetime.fromisoformat(rec["eventMetadata"]["inferenceTime"].replace("Z", "+00:00"))
        path = folder / at.strftime("%Y%m%d%H") / "capture.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as out:
            out.write(json.dumps(rec) + "\n")
    return capture.upload_spool(endpoint, folder, include_current=True)


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
