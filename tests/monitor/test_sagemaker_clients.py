"""The whole SageMaker path on the S3 test server: a SageMaker application's boto3 calls, capture written in
SageMaker's S3 layout and record (checked field by field against the documented record), ground truth in
SageMaker's format merged by the caller's InferenceId, and the model-quality monitor over both folders."""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]  # endpoints and servers started for real, on a busy machine

FIXTURES = Path(__file__).parent / "fixtures" / "sagemaker"
KEY = re.compile(r"^datacapture/churn/churn-v1/\d{4}/\d{2}/\d{2}/\d{2}/[^/]+\.jsonl$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def shape(doc: Any) -> Any:
    """The keys of a record at every level (values dropped), to compare with the documented record."""
    return {k: shape(v) for k, v in doc.items()} if isinstance(doc, dict) else None


def test_boto3_traffic_captured_to_s3_is_monitored_with_sagemaker_ground_truth(
        served: Any, s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3
    from botocore.config import Config

    from loopml import monitor, serve
    from loopml.api import create_app
    from loopml.core import access_keys, context
    from tests.serve.conftest import fitted
    from tests.serve.live import uvicorn_thread

    bucket = s3_bucket.split("/")[2]
    monkeypatch.setenv("LOOPML_CAPTURE", f"s3://{bucket}/datacapture")
    served(0)
    serve.create("churn", "churn@approved", capture_percent=100)
    with context.get_db().write() as conn:
        pair = access_keys.create(conn, "alice", actor="root")
    _, frame = fitted(seed=3, n=40)
    truth = (frame["a"] - frame["c"] > 0).astype(int).to_numpy()  # labels the model only partly agrees with
    answers = []
    with uvicorn_thread(create_app()) as url:
        runtime = boto3.client("sagemaker-runtime", endpoint_url=url, region_name="us-east-1",
                               aws_access_key_id=pair.access_key_id, aws_secret_access_key=pair.secret_access_key,
                               config=Config(retries={"max_attempts": 1}))
        for i, row in enumerate(frame.itertuples(index=False)):
            body = ",".join(str(x) for x in row).encode() + b"\n"
            out = runtime.invoke_endpoint(EndpointName="churn", Body=body, ContentType="text/csv",
                                          Accept="text/csv", InferenceId=f"order-{i}")
            answers.append(int(out["Body"].read().decode().strip()))
    serve.flush_capture("churn")

    s3 = boto3.client("s3", endpoint_url=os.environ["LOOPML_S3_ENDPOINT"])
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="datacapture/")["Contents"]]
    assert keys and all(KEY.match(k) for k in keys), keys
    records = [json.loads(line) for k in keys for line in
               s3.get_object(Bucket=bucket, Key=k)["Body"].read().decode().splitlines()]
    documented = json.loads((FIXTURES / "capture.jsonl").read_text().splitlines()[1])  # the one with inferenceId
    assert len(records) == len(frame)
    for record in records:
        assert shape(record) == shape(documented)
        meta, data = record["eventMetadata"], record["captureData"]
        assert UUID.match(meta["eventId"]) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["inferenceTime"])
        assert data["endpointInput"] == {**data["endpointInput"], "observedContentType": "text/csv", "mode": "INPUT",
                                         "encoding": "CSV"}
        assert data["endpointOutput"]["mode"] == "OUTPUT" and record["eventVersion"] == "0"
    assert sorted(r["eventMetadata"]["inferenceId"] for r in records) == sorted(f"order-{i}" for i in range(40))

    # labels as a SageMaker labelling job writes them: eventId holds the InferenceId the caller sent
    hour = datetime.now(UTC)
    labels = "".join(json.dumps({"groundTruthData": {"data": str(t), "encoding": "CSV"},
                                 "eventMetadata": {"eventId": f"order-{i}"}, "eventVersion": "0"}) + "\n"
                     for i, t in enumerate(truth))
    s3.put_object(Bucket=bucket, Key=f"groundtruth/{hour:%Y/%m/%d/%H}/labels.jsonl", Body=labels.encode())
    monitor.create_monitoring_schedule(
        "churn-mq", "churn", monitor_type="model_quality", interval_seconds=3600,
        capture_uri=f"s3://{bucket}/datacapture", ground_truth_uri=f"s3://{bucket}/groundtruth",
        settings={"problem_type": "BinaryClassification"})
    ex = monitor.run_monitor("churn-mq", window_start=hour - timedelta(hours=1), window_end=hour + timedelta(minutes=5))
    assert ex.metrics["matched_count"] == 40 and ex.metrics["undecodable_records"] == 0
    assert ex.metrics["accuracy"] == pytest.approx(float(np.mean(np.array(answers) == truth)))
    serve.delete("churn")
