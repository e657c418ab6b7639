"""Writing data-capture records off the request path, into hourly spool files.

The request thread only samples and puts a record on a bounded in-memory queue; a background thread
writes JSON Lines to ``<spool>/<YYYYMMDDHH>/<pid>.jsonl``, the hour being the record's ``inferenceTime``.
A full queue or a failing disk drops records and counts them; it never slows or fails a prediction. The
endpoint process uploads closed hours to the capture root (see :mod:`loopml.serve.capture`).
"""

from __future__ import annotations

import base64
import json
import os
import queue
import random
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loopml.core import faults

_ENCODINGS = {"application/json": "JSON", "text/csv": "CSV"}
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def _payload(body: bytes, content_type: str, mode: str) -> dict[str, str]:
    kind = content_type.split(";", 1)[0].strip().lower()
    encoding = _ENCODINGS.get(kind, "BASE64")
    try:
        data = body.decode("utf-8") if encoding != "BASE64" else base64.b64encode(body).decode()
    except UnicodeDecodeError:
        encoding, data = "BASE64", base64.b64encode(body).decode()
    return {"observedContentType": content_type, "mode": mode, "data": data, "encoding": encoding}


def capture_record(event_id: str, *, request: bytes, request_type: str, response: bytes,
                   response_type: str, at: datetime, inference_id: str | None = None,
                   custom_attributes: str | None = None) -> dict[str, Any]:
    """One record in the SageMaker data-capture shape.

    ``eventId`` is the id loopml gave the request (a UUID); ``inferenceTime`` is UTC to the second with a
    ``Z``, as AWS writes it; ``inferenceId`` and ``customAttributes`` are the caller's
    ``X-Amzn-SageMaker-Inference-Id`` and ``X-Amzn-SageMaker-Custom-Attributes`` headers, when sent.
    """
    meta: dict[str, Any] = {"eventId": event_id}
    if inference_id:
        meta["inferenceId"] = inference_id
    if custom_attributes:
        meta["customAttributes"] = custom_attributes
    meta["inferenceTime"] = at.astimezone(UTC).strftime(TIME_FORMAT)
    return {
        "captureData": {
            "endpointInput": _payload(request, request_type, "INPUT"),
            "endpointOutput": _payload(response, response_type, "OUTPUT"),
        },
        "eventMetadata": meta,
        "eventVersion": "0",
    }


class CaptureSpool:
    """Samples ``percent`` of requests and writes their records to hourly spool files in the background."""

    def __init__(self, folder: str | Path, *, percent: float, on_write: Any = None, on_drop: Any = None,
                 buffer: int = 10_000) -> None:
        self.folder = Path(folder)
        self.percent = percent
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(maxsize=buffer)
        self._on_write = on_write or (lambda n: None)
        self._on_drop = on_drop or (lambda n: None)
        self._thread = threading.Thread(target=self._run, name="capture", daemon=True)
        self._thread.start()

    def sampled(self) -> bool:
        """Whether this request is captured (decided before encoding anything)."""
        return self.percent >= 100 or (self.percent > 0 and random.random() * 100 < self.percent)

    def offer(self, record: dict[str, Any]) -> None:
        """Queue a record without blocking; drop and count it when the buffer is full."""
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            self._on_drop(1)

    def close(self, timeout: float = 5.0) -> None:
        """Flush what is queued and stop the writer thread."""
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while not self._queue.empty() and len(batch) < 500:
                batch.append(self._queue.get_nowait())
            stop = None in batch
            records = [r for r in batch if r is not None]
            if records:
                self._write(records)
            if stop:
                return

    def _write(self, records: list[dict[str, Any]]) -> None:
        by_hour: dict[str, list[dict[str, Any]]] = {}
        for record in records:
            by_hour.setdefault(record_hour(record), []).append(record)
        for hour, group in by_hour.items():
            self._append(self.folder / hour / f"{os.getpid()}.jsonl", group)

    def _append(self, path: Path, records: list[dict[str, Any]]) -> None:
        lines = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records)
        try:
            faults.point("capture_write")
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(lines)
        except OSError:
            self._on_drop(len(records))
            return
        self._on_write(len(records))


def record_hour(record: dict[str, Any]) -> str:
    """``YYYYMMDDHH`` of a record's ``inferenceTime`` (the hour folder it belongs in); now when it has none."""
    text = str(record.get("eventMetadata", {}).get("inferenceTime", ""))
    digits = text[0:4] + text[5:7] + text[8:10] + text[11:13]
    return digits if len(digits) == 10 and digits.isdigit() else datetime.now(UTC).strftime("%Y%m%d%H")
