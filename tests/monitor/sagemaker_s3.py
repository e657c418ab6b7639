"""What a SageMaker endpoint, its labelling job and its Model Monitor baselining job leave in S3 (for tests)."""

from __future__ import annotations

import base64
import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pandas as pd

from loopml.monitor import baseline, write_constraints, write_statistics
from tests.monitor.deequ_kll import deequ_sketch

T0 = datetime(2022, 2, 14, 17, 0, tzinfo=UTC)
N = 300


def s3_client() -> Any:
    return boto3.client("s3", endpoint_url=os.environ["LOOPML_S3_ENDPOINT"])


def _sagemaker_record(i: int, row: list, probability: float) -> dict:
    """A record as a SageMaker endpoint writes it (text/csv in and out), every third with an inferenceId."""
    meta = {"eventId": str(uuid.uuid4()), "inferenceTime": (T0 + timedelta(seconds=10 * i)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")}
    if i % 3 == 0:
        meta = {"eventId": meta["eventId"], "inferenceId": f"order-{i}", "inferenceTime": meta["inferenceTime"]}
    return {"captureData": {
        "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
                          "data": ",".join(map(str, row)) + "\n", "encoding": "CSV"},
        "endpointOutput": {"observedContentType": "text/csv; charset=utf-8", "mode": "OUTPUT",
                           "data": repr(probability), "encoding": "CSV"}},
        "eventMetadata": meta, "eventVersion": "0"}


def populate(bucket: str, endpoint: str, baseline_dir: Path) -> dict[str, Any]:
    """Capture of `endpoint` (one hour from T0, 300 requests, amount drifted, one undecodable record) under
    `s3://bucket/datacapture`, its labels under `s3://bucket/groundtruth`, its baseline in `baseline_dir`."""
    s3 = s3_client()
    rng = np.random.default_rng(21)
    train = pd.DataFrame({"amount": rng.normal(100, 15, 5000), "items": rng.integers(1, 6, 5000),
                          "plan": rng.choice(["basic", "pro", "team"], 5000, p=[0.6, 0.3, 0.1])})
    statistics, constraints = baseline(train, comparison_method="Simple")
    for feature in statistics["features"]:
        if "numerical_statistics" in feature:
            values = train[feature["name"]].to_numpy(dtype=float)
            feature["numerical_statistics"]["distribution"]["kll"]["sketch"] = deequ_sketch(values)
    write_statistics(statistics, baseline_dir / "statistics.json")
    write_constraints(constraints, baseline_dir / "constraints.json")
    window = pd.DataFrame({"amount": rng.normal(130, 15, N), "items": rng.integers(1, 6, N),
                           "plan": rng.choice(["basic", "pro", "team"], N, p=[0.6, 0.3, 0.1])})
    truth = rng.integers(0, 2, N)
    probability = np.clip(truth * 0.4 + rng.random(N) * 0.6, 0, 1).round(4)
    records = [_sagemaker_record(i, list(r), float(p)) for i, (r, p) in
               enumerate(zip(window.itertuples(index=False), probability, strict=True))]
    records[5]["captureData"]["endpointInput"].update(data=base64.b64encode(b"\xff\xfe").decode(),
                                                      encoding="BASE64")
    for minute in (0, 25):
        part = [r for r in records if r["eventMetadata"]["inferenceTime"][14:16] < "25"] if minute == 0 else \
            [r for r in records if r["eventMetadata"]["inferenceTime"][14:16] >= "25"]
        key = f"datacapture/{endpoint}/AllTraffic/2022/02/14/17/{minute:02d}-01-{uuid.uuid4()}.jsonl"
        s3.put_object(Bucket=bucket, Key=key, Body="".join(json.dumps(r) + "\n" for r in part).encode())
    labels = [{"groundTruthData": {"data": str(t), "encoding": "CSV"},
               "eventMetadata": {"eventId": r["eventMetadata"].get("inferenceId", r["eventMetadata"]["eventId"])},
               "eventVersion": "0"} for r, t in zip(records, truth, strict=True)]
    s3.put_object(Bucket=bucket, Key="groundtruth/2022/02/14/19/labels.jsonl",
                  Body="".join(json.dumps(x) + "\n" for x in labels).encode())
    return {"capture": f"s3://{bucket}/datacapture", "labels": f"s3://{bucket}/groundtruth",
            "baseline": baseline_dir, "truth": truth, "probability": probability, "window": window}


