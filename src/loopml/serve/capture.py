"""Data capture: hourly JSON Lines files of requests and responses, kept in the artifact store.

Replicas spool records locally (see :mod:`loopml.serve._spool`); the endpoint process uploads each closed
hour (and everything on shutdown or :func:`flush`) as a content-addressed artifact and records it, so
monitors read capture by endpoint and hour. Ground-truth labels are uploaded later and joined by
``eventId``.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from loopml.core import audit, clock, context, integrity
from loopml.core._sql import insert_ignore
from loopml.errors import ValidationError
from loopml.serve._tables import capture_files, ground_truth


def upload_spool(endpoint: str, spool: str | Path, *, include_current: bool = False) -> int:
    """Move closed hours (all hours with ``include_current``) from the spool into the artifact store.

    Idempotent: a file is deleted only after its artifact and row are committed; re-uploading the same
    bytes finds the same digest. Returns the number of files uploaded.
    """
    current = datetime.now(UTC).strftime("%Y%m%d%H")
    done = 0
    for path in sorted(Path(spool).glob("*/*/*.jsonl")) + sorted(Path(spool).glob("*/*.jsonl")):
        hour = path.parent.name
        if (hour >= current and not include_current) or path.stat().st_size == 0:
            continue
        ref = context.get_artifacts().put_file(path)
        records = sum(1 for _ in path.open("rb"))
        with context.get_db().write() as conn:
            insert_ignore(conn, capture_files, dict(endpoint=endpoint, digest=ref.sha256, hour=hour,
                                                    records=records, created_at=clock.now()))
            integrity.record_artifact(conn, ref, media_type="application/jsonlines", actor="automation:capture")
        path.unlink()
        done += 1
    return done


def list_files(endpoint: str, *, hour: str | None = None) -> list[dict[str, Any]]:
    """Capture files of an endpoint: digest, hour (``YYYYMMDDHH``, UTC) and record count."""
    query = sa.select(capture_files).where(capture_files.c.endpoint == endpoint)
    if hour:
        query = query.where(capture_files.c.hour == hour)
    with context.get_db().read() as conn:
        rows = conn.execute(query.order_by(capture_files.c.hour, capture_files.c.created_at)).all()
    return [{"digest": r.digest, "hour": r.hour, "records": r.records} for r in rows]


def read_records(endpoint: str, *, hour: str | None = None) -> list[dict[str, Any]]:
    """Every captured record of an endpoint (SageMaker data-capture shape), oldest hour first."""
    store = context.get_artifacts()
    out: list[dict[str, Any]] = []
    for item in list_files(endpoint, hour=hour):
        out += [json.loads(line) for line in store.get_bytes(item["digest"]).splitlines() if line.strip()]
    return out


def _parse_labels(data: bytes) -> list[dict[str, Any]]:
    text = data.decode("utf-8")
    if text.lstrip().startswith("{"):
        records = [json.loads(line) for line in text.splitlines() if line.strip()]
        if all("eventMetadata" in r and "groundTruthData" in r for r in records):
            return records
        return [{"groundTruthData": {"data": str(r["label"]), "encoding": "CSV"},
                 "eventMetadata": {"eventId": str(r["eventId"])}, "eventVersion": "0"} for r in records]
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows or not {"eventId", "label"} <= set(rows[0]):
        raise ValidationError("ground-truth CSV needs the columns eventId,label")
    return [{"groundTruthData": {"data": r["label"], "encoding": "CSV"}, "eventMetadata": {"eventId": r["eventId"]},
             "eventVersion": "0"} for r in rows]


def upload_ground_truth(endpoint: str, path: str | Path) -> dict[str, Any]:
    """Upload labels by ``eventId`` (JSON Lines in the SageMaker ground-truth shape, or CSV ``eventId,label``)."""
    try:
        records = _parse_labels(Path(path).read_bytes())
    except (KeyError, ValueError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{path} is not ground truth: {exc}; use JSON Lines with eventMetadata.eventId "
                              "and groundTruthData, or CSV eventId,label") from exc
    body = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records).encode()
    ref = context.get_artifacts().put_bytes(body)
    actor = context.current_user()
    with context.get_db().write() as conn:
        insert_ignore(conn, ground_truth, dict(endpoint=endpoint, digest=ref.sha256, records=len(records),
                                               uploaded_by=actor, uploaded_at=clock.now()))
        integrity.record_artifact(conn, ref, media_type="application/jsonlines", actor=actor)
        audit.append(conn, actor=actor, action="endpoint.ground_truth", resource=f"endpoint:{endpoint}",
                     details={"digest": ref.sha256, "records": len(records)})
    return {"digest": ref.sha256, "records": len(records)}


def read_ground_truth(endpoint: str) -> dict[str, str]:
    """``eventId`` → label (the latest upload wins)."""
    query = sa.select(ground_truth.c.digest).where(ground_truth.c.endpoint == endpoint) \
        .order_by(ground_truth.c.uploaded_at)
    with context.get_db().read() as conn:
        digests = list(conn.execute(query).scalars())
    labels: dict[str, str] = {}
    for digest in digests:
        for line in context.get_artifacts().get_bytes(digest).splitlines():
            record = json.loads(line)
            labels[record["eventMetadata"]["eventId"]] = record["groundTruthData"]["data"]
    return labels
