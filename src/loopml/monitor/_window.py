"""One monitoring window's inputs: captured records and ground truth, wherever the schedule reads them.

A schedule reads the capture root of loopml's endpoints, or ``capture_uri``: a folder in SageMaker's
layout (a SageMaker endpoint's ``DestinationS3Uri``). Labels come from uploads
(``loopml endpoint ground-truth``) and from ``ground_truth_uri``, a folder laid out as Model Monitor expects.

Capture of the open hour lives in the endpoint's spool until it is uploaded (within a minute of the hour's
end). A window that reaches into the last few minutes therefore first asks a loopml endpoint to flush its
spool (:func:`loopml.serve.flush_capture`), so ``monitor run`` sees every record captured before it started.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

from loopml.core import clock
from loopml.errors import LoopmlError
from loopml.monitor import _capture, _checks_service
from loopml.monitor.schedules import Schedule

FLUSH_WITHIN = timedelta(minutes=5)
"""A window ending less than this before now flushes the endpoint's spool first."""

SEARCH = timedelta(hours=24)
"""Labels matching nothing in the window are looked up this far around it before they count as unknown."""


def read_window(sched: Schedule, start: datetime, end: datetime,
                records: list[dict[str, Any]] | None = None) -> _capture.CapturedWindow:
    """The decoded records whose ``inferenceTime`` is in ``[start, end)``."""
    if records is None:
        _flush_if_recent(sched, end)
        records = _read(sched, start, end)
    chosen = [r for r in records if _capture.in_window(r, start, end)]
    columns, check = _checks_service.capture_columns(sched)
    window = _capture.decode_window(chosen, columns, check=check)
    return dataclasses.replace(window, start=start, end=end)


def ground_truth(sched: Schedule, window: _capture.CapturedWindow) -> dict[str, str]:
    """Labels by id: uploads for the endpoint, then the ``ground_truth_uri`` folder from the window start."""
    from loopml.serve import capture

    labels = capture.read_ground_truth(sched.endpoint or "")
    if sched.config.get("ground_truth_uri"):
        labels.update(capture.read_ground_truth_folder(sched.config["ground_truth_uri"], since=window.start))
    return labels


def captured_ids(sched: Schedule, window: _capture.CapturedWindow) -> set[str]:
    """Every id (event, inference, per row) of the records captured within :data:`SEARCH` of the window."""
    if window.start is None or window.end is None:
        return set()
    ids: set[str] = set()
    end = min(window.end + SEARCH, clock.now())
    for record in _read(sched, window.start - SEARCH, end):
        meta = record.get("eventMetadata", {})
        ids.update(str(meta[k]) for k in ("eventId", "inferenceId") if meta.get(k) is not None)
    return ids


def _read(sched: Schedule, start: datetime, end: datetime) -> list[dict[str, Any]]:
    from loopml.serve import capture

    return capture.read_records(sched.endpoint or "", start=start, end=end, root=sched.config.get("capture_uri"))


def _flush_if_recent(sched: Schedule, end: datetime) -> None:
    if sched.config.get("capture_uri") or clock.as_utc(end) < clock.now() - FLUSH_WITHIN:
        return
    from loopml import serve

    try:
        serve.flush_capture(sched.endpoint or "")
    except LoopmlError:
        return  # not a loopml endpoint (or gone): nothing is spooled here
