"""Data capture: hourly JSON Lines files of requests and responses, in SageMaker's layout, and ground truth.

Replicas spool records locally (see :mod:`loopml.serve._spool`); the endpoint process uploads each closed
hour within a minute (and everything on shutdown or :func:`loopml.serve.flush_capture`) to the capture
root, ``LOOPML_CAPTURE`` (a folder or ``s3://bucket/prefix``; default ``<home>/capture``), as SageMaker
lays out data capture under its ``DestinationS3Uri``::

    <root>/<endpoint>/<variant>/<yyyy>/<mm>/<dd>/<hh>/<mm>-<ss>-<uuid>.jsonl

A file's name is derived from its bytes, so an upload that is repeated after a crash rewrites the same file
instead of duplicating records; each file is recorded (``serve_capture_files``: key and sha256) so
``loopml fsck`` checks it, and ``gc`` never deletes it. :func:`read_records` reads that layout, whoever wrote it: pass ``root=`` to
read the folder a SageMaker endpoint wrote. Ground-truth labels are uploaded later and merged by
``inferenceId`` (when the request carried one) or ``eventId``. :func:`inference_time` reads when a record was
served (the one reading the monitors, replays and serving advice share).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from loopml.core import audit, clock, context, integrity, userfiles
from loopml.core.rows import insert_ignore
from loopml.errors import NotFoundError, ValidationError
from loopml.serve._capture_store import CaptureFolder, hour_key, open_url
from loopml.serve._spool import record_hour
from loopml.serve._tables import capture_files, ground_truth

DEFAULT_VARIANT = "AllTraffic"
LABEL_SUFFIXES = (".jsonl", ".json", ".csv")


def capture_root() -> str:
    """Where endpoints write capture: ``LOOPML_CAPTURE`` or ``<home>/capture``."""
    return context.get_settings().capture


def inference_time(record: dict[str, Any]) -> datetime | None:
    """A capture record's ``eventMetadata.inferenceTime`` (UTC), or None when it has none that parses.

    Example:
        >>> inference_time({"eventMetadata": {"inferenceTime": "2026-11-28T10:00:00Z"}}).isoformat()
        '2026-11-28T10:00:00+00:00'
        >>> inference_time({"eventMetadata": {}}) is None
        True
    """
    text = str(record.get("eventMetadata", {}).get("inferenceTime", ""))
    try:
        return clock.as_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        return None


def location(text: str, *, what: str = "capture location") -> str:
    """A capture or ground-truth folder as stored in a schedule: a local path (made absolute) or a URL that
    fsspec opens (``s3://bucket/prefix``).

    Raises:
        ValidationError: empty, or not something fsspec can open.
    """
    text = text.strip()
    if not text:
        raise ValidationError(f"{what} is empty; give a folder or s3://bucket/prefix")
    if "://" not in text:
        text = str(Path(text).expanduser().resolve())
    open_url(text)
    return text


def upload_spool(endpoint: str, spool: str | Path, *, include_current: bool = False) -> int:
    """Move closed hours (all hours with ``include_current``) from the spool into the capture root.

    The spool holds ``<variant>/<YYYYMMDDHH>/<pid>.jsonl``. A file is renamed before it is read, so records a
    replica appends meanwhile go to a new file, and deleted only after its copy is stored; re-uploading the
    same bytes writes the same file. Returns the number of files uploaded.
    """
    folder = CaptureFolder(capture_root())
    current = datetime.now(UTC).strftime("%Y%m%d%H")
    done = 0
    for path in sorted(Path(spool).glob("*/*/*.jsonl")) + sorted(Path(spool).glob("*/*.jsonl")):
        hour, variant = path.parent.name, _variant(path, Path(spool))
        if (hour >= current and not include_current) or not _has_data(path):
            continue
        taken = path if path.name.endswith(".uploading.jsonl") else path.rename(path.with_suffix(".uploading.jsonl"))
        data = taken.read_bytes()
        key = hour_key(endpoint, variant, hour, _file_name(data, hour))
        folder.put(taken, key)
        _record_file(endpoint, hour, key, data)
        taken.unlink()
        done += 1
    return done


def _record_file(endpoint: str, hour: str, key: str, data: bytes) -> None:
    """The row that names a stored capture file and its hash (fsck checks it; gc never deletes it)."""
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with context.get_db().write() as conn:
        insert_ignore(conn, capture_files, dict(endpoint=endpoint, digest=digest, hour=hour, key=key,
                                                records=len(_json_lines(data)), created_at=clock.now()))


def list_files(endpoint: str, *, hour: str | None = None, root: str | None = None) -> list[dict[str, Any]]:
    """Capture files of an endpoint: ``key`` (relative to the root), ``variant`` and ``hour`` (``YYYYMMDDHH``)."""
    return CaptureFolder(root or capture_root()).files(endpoint, None if hour is None else [hour])


def read_records(endpoint: str, *, hour: str | None = None, start: datetime | None = None,
                 end: datetime | None = None, root: str | None = None) -> list[dict[str, Any]]:
    """Captured records of an endpoint (SageMaker data-capture shape), oldest hour first.

    Args:
        endpoint: The endpoint (a folder under the root).
        hour: Only this hour (``YYYYMMDDHH``, UTC).
        start: With ``end``, only the hour folders that can hold records of ``[start, end)`` (callers filter
            by ``inferenceTime``).
        end: See ``start``.
        root: The capture root; default :func:`capture_root` (give a SageMaker ``DestinationS3Uri`` to read
            what a SageMaker endpoint captured).

    A line that is not JSON (a file cut short) is skipped.
    """
    folder = CaptureFolder(root or capture_root())
    hours = [hour] if hour else (hours_between(start, end) if start and end else None)
    out: list[dict[str, Any]] = []
    for item in folder.files(endpoint, hours):
        out += _json_lines(folder.read(item["key"]))
    return out


def hours_between(start: datetime, end: datetime) -> list[str]:
    """Hour folders (``YYYYMMDDHH``) that can hold records of ``[start, end)``, plus the next hour."""
    hour = clock.as_utc(start).replace(minute=0, second=0, microsecond=0)
    last = clock.as_utc(end) + timedelta(hours=1)
    out = []
    while hour < last:
        out.append(hour.strftime("%Y%m%d%H"))
        hour += timedelta(hours=1)
    return out


def parse_labels(data: bytes, *, where: str = "ground truth") -> list[dict[str, Any]]:
    """Ground-truth records from JSON Lines (SageMaker's shape, or ``{"eventId", "label"}``) or CSV
    ``eventId,label`` (``inferenceId`` works in place of ``eventId`` in both)."""
    try:
        text = data.decode("utf-8")
        if text.lstrip().startswith("{"):
            return [_label_record(json.loads(line)) for line in text.splitlines() if line.strip()]
        return _csv_labels(text)
    except (KeyError, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{where} is not ground truth ({exc}); use JSON Lines with eventMetadata.eventId and "
                              "groundTruthData, or CSV eventId,label") from exc


def upload_ground_truth(endpoint: str, path: str | Path) -> dict[str, Any]:
    """Upload labels: a file, or a folder of label files (any depth, e.g. ``yyyy/mm/dd/hh/*.jsonl``).

    Each record's ``eventMetadata.eventId`` is either the ``inferenceId`` the caller sent or the captured
    ``eventId``, as Model Monitor documents. Returns the stored digest and the record count.

    Raises:
        NotFoundError: the path does not exist, or a folder holds no ``.jsonl``/``.json``/``.csv`` file.
        ValidationError: a file is not ground truth.
    """
    records = [r for file in _label_files(Path(path))
               for r in parse_labels(userfiles.read_bytes(file, "ground-truth file"), where=str(file))]
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
    """Uploaded labels: id (``inferenceId`` or ``eventId``) → label (the latest upload wins)."""
    query = sa.select(ground_truth.c.digest).where(ground_truth.c.endpoint == endpoint) \
        .order_by(ground_truth.c.uploaded_at)
    with context.get_db().read() as conn:
        digests = list(conn.execute(query).scalars())
    labels: dict[str, str] = {}
    for digest in digests:
        labels.update(_labels(_json_lines(context.get_artifacts().get_bytes(digest))))
    return labels


def read_ground_truth_folder(url: str, *, since: datetime | None = None) -> dict[str, str]:
    """Labels in a folder laid out as Model Monitor expects (``<url>/yyyy/mm/dd/hh/*.jsonl``, the hour being
    when the labels were collected), from hour folders at or after ``since``: id → label."""
    folder = CaptureFolder(url)
    first = clock.as_utc(since).strftime("%Y/%m/%d/%H") if since else ""
    records: list[dict[str, Any]] = []
    for key in folder.find():
        parts = key.split("/")
        if len(parts) >= 5 and "/".join(parts[-5:-1]) >= first and key.endswith(LABEL_SUFFIXES):
            records += parse_labels(folder.read(key), where=f"{url}/{key}")
    return _labels(records)


def _variant(path: Path, spool: Path) -> str:
    return path.parent.parent.name if path.parent.parent != spool else DEFAULT_VARIANT


def _has_data(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except FileNotFoundError:
        return False


def _file_name(data: bytes, hour: str) -> str:
    """``<mm>-<ss>-<uuid>.jsonl``: the first record's minute and second, and a UUID made from the bytes."""
    first = _json_lines(data.split(b"\n", 1)[0])
    at = first[0].get("eventMetadata", {}).get("inferenceTime", "") if first else ""
    minute, second = (at[14:16], at[17:19]) if record_hour(first[0]) == hour and len(at) >= 19 else ("00", "00")
    return f"{minute}-{second}-{uuid.UUID(bytes=hashlib.sha256(data).digest()[:16], version=4)}.jsonl"


def _json_lines(data: bytes) -> list[dict[str, Any]]:
    out = []
    for line in data.splitlines():
        try:
            record = json.loads(line) if line.strip() else None
        except ValueError:
            continue
        if isinstance(record, dict):
            out.append(record)
    return out


def _label_record(raw: dict[str, Any]) -> dict[str, Any]:
    if "eventMetadata" in raw and "groundTruthData" in raw:
        if raw["eventMetadata"].get("eventId") is None or "data" not in raw["groundTruthData"]:
            raise KeyError("eventMetadata.eventId and groundTruthData.data")
        return raw
    key = raw.get("eventId", raw.get("inferenceId"))
    if key is None:
        raise KeyError("eventId")
    return {"groundTruthData": {"data": str(raw["label"]), "encoding": "CSV"},
            "eventMetadata": {"eventId": str(key)}, "eventVersion": "0"}


def _csv_labels(text: str) -> list[dict[str, Any]]:
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows or "label" not in rows[0] or not {"eventId", "inferenceId"} & set(rows[0]):
        raise ValueError("a ground-truth CSV needs the columns eventId,label (or inferenceId,label)")
    return [_label_record(row) for row in rows]


def _labels(records: list[dict[str, Any]]) -> dict[str, str]:
    return {str(r["eventMetadata"]["eventId"]): str(r["groundTruthData"]["data"]) for r in records}


def _label_files(path: Path) -> list[Path]:
    if not path.is_dir():
        return [userfiles.input_file(path, "ground-truth file")]
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in LABEL_SUFFIXES)
    if not files:
        raise NotFoundError(f"folder {str(path)!r} holds no .jsonl, .json or .csv label files; give label files "
                            "or a folder of them (e.g. yyyy/mm/dd/hh/labels.jsonl)", path=str(path))
    return files
