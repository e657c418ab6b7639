"""Capture files in SageMaker's layout (`<root>/<endpoint>/<variant>/yyyy/mm/dd/hh/`) on local disk and S3;
uploads that repeat after a crash write nothing twice; ground truth from a yyyy/mm/dd/hh folder."""

from __future__ import annotations

import json
import os
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from loopml.errors import NotFoundError, ValidationError
from loopml.serve import capture
from tests.monitor.capture_helpers import record

T0 = datetime(2022, 2, 14, 17, 25, 49, tzinfo=UTC)
LAYOUT = re.compile(r"^ep/(AllTraffic|blue)/2022/02/14/(17|18)/\d{2}-\d{2}-[0-9a-f-]{36}\.jsonl$")


def _spool(folder: Path, variant: str | None, hour: str, records: list[dict]) -> Path:
    path = folder / (variant or "") / hour / "4242.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records))
    return path


def _records(n: int, at: datetime, prefix: str = "e") -> list[dict]:
    return [record(f"{prefix}{i}", {"a": float(i)}, 0, at + timedelta(seconds=i)) for i in range(n)]


def test_upload_writes_sagemakers_layout_on_local_disk(home, tmp_path, monkeypatch):
    monkeypatch.setenv("LOOPML_CAPTURE", str(tmp_path / "capture"))
    spool = tmp_path / "spool"
    _spool(spool, "blue", "2022021417", _records(3, T0))
    _spool(spool, None, "2022021418", _records(2, T0 + timedelta(hours=1), "f"))
    assert capture.upload_spool("ep", spool) == 2
    assert not list(spool.rglob("*.jsonl"))
    files = sorted(p.relative_to(tmp_path / "capture").as_posix() for p in (tmp_path / "capture").rglob("*.jsonl"))
    assert len(files) == 2 and all(LAYOUT.match(f) for f in files), files
    assert files[1].startswith("ep/blue/2022/02/14/17/25-49-")  # the first record's minute and second
    assert files[0].startswith("ep/AllTraffic/2022/02/14/18/25-49-")  # no variant folder in the spool
    assert [r["eventMetadata"]["eventId"] for r in capture.read_records("ep")] == ["e0", "e1", "e2", "f0", "f1"]
    assert [f["hour"] for f in capture.list_files("ep")] == ["2022021417", "2022021418"]
    assert len(capture.read_records("ep", hour="2022021418")) == 2


def test_a_repeated_upload_writes_the_same_file_and_the_open_hour_waits(home, tmp_path, monkeypatch):
    """A crash between storing a file and deleting the spool copy must not duplicate records."""
    monkeypatch.setenv("LOOPML_CAPTURE", str(tmp_path / "capture"))
    spool = tmp_path / "spool"
    path = _spool(spool, "AllTraffic", "2022021417", _records(4, T0))
    copy = tmp_path / "copy.jsonl"
    shutil.copy(path, copy)
    assert capture.upload_spool("ep", spool) == 1
    shutil.copy(copy, path.with_suffix(".uploading.jsonl"))  # as if the process died after the upload
    assert capture.upload_spool("ep", spool) == 1
    assert len(capture.list_files("ep")) == 1 and len(capture.read_records("ep")) == 4
    now = datetime.now(UTC)
    _spool(spool, "AllTraffic", now.strftime("%Y%m%d%H"), _records(2, now))
    assert capture.upload_spool("ep", spool) == 0
    assert capture.upload_spool("ep", spool, include_current=True) == 1
    assert len(capture.read_records("ep")) == 6


def test_capture_goes_to_s3_in_the_same_layout(home, tmp_path, s3_bucket, monkeypatch):
    import boto3

    root = s3_bucket.rsplit("/", 1)[0] + "/datacapture"
    monkeypatch.setenv("LOOPML_CAPTURE", root)
    _spool(tmp_path / "spool", "AllTraffic", "2022021417", _records(3, T0))
    assert capture.upload_spool("ep", tmp_path / "spool") == 1
    bucket = root[5:].split("/")[0]
    keys = [o["Key"] for o in boto3.client("s3", endpoint_url=os.environ["LOOPML_S3_ENDPOINT"])
            .list_objects_v2(Bucket=bucket, Prefix="datacapture/")["Contents"]]
    assert len(keys) == 1 and LAYOUT.match(keys[0].removeprefix("datacapture/")), keys
    assert len(capture.read_records("ep", start=T0, end=T0 + timedelta(minutes=5))) == 3


def test_ground_truth_from_a_yyyy_mm_dd_hh_folder_by_inference_or_event_id(home, tmp_path):
    """Today: IsADirectoryError. The documented record; CSV with inferenceId,label also works."""
    folder = tmp_path / "labels"
    hour = folder / "2022" / "02" / "14" / "18"
    hour.mkdir(parents=True)
    documented = Path(__file__).parent / "fixtures" / "sagemaker" / "ground_truth.jsonl"
    shutil.copy(documented, hour / "labels.jsonl")
    (folder / "2022" / "02" / "14" / "19").mkdir(parents=True)
    (folder / "2022" / "02" / "14" / "19" / "more.csv").write_text("inferenceId,label\norder-77,0\n")
    result = capture.upload_ground_truth("ep", folder)
    assert result["records"] == 4
    assert capture.read_ground_truth("ep") == {"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee": "0", "order-1002": "1",
                                               "6c1e0b4e-1a9f-4e0e-8f4b-2a7d9c3e5b10": "1", "order-77": "0"}


def test_bad_ground_truth_says_what_to_send(home, tmp_path):
    with pytest.raises(NotFoundError, match="ground-truth file .* does not exist"):
        capture.upload_ground_truth("ep", tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(NotFoundError, match="holds no"):
        capture.upload_ground_truth("ep", tmp_path / "empty")
    (tmp_path / "bad.csv").write_text("id,value\n1,2\n")
    with pytest.raises(ValidationError, match="eventId,label"):
        capture.upload_ground_truth("ep", tmp_path / "bad.csv")
