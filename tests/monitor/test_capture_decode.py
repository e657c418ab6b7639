"""Every request shape the model server accepts decodes, from its capture record, into exactly the rows the
model saw (the server's own decoder); predictions decode from JSON, CSV and OIP v2 answers; records are in
SageMaker's shape with the caller's inferenceId and customAttributes."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from loopml.monitor._capture import decode_window
from loopml.serve import ModelServer, from_estimator, parse_signature
from loopml.serve._spool import CaptureSpool

FIXTURES = Path(__file__).parent / "fixtures" / "sagemaker"
NUMERIC = {"inputs": [{"name": n, "type": "double"} for n in ("a", "b", "c")]}
MIXED = {"inputs": [{"name": "amount", "type": "double"}, {"name": "items", "type": "long"},
                    {"name": "plan", "type": "string"}, {"name": "vip", "type": "boolean"}]}


class Recording:
    """A model that remembers every frame it was called with and predicts the row's position."""

    def __init__(self) -> None:
        self.seen: list[pd.DataFrame] = []

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        self.seen.append(frame.copy())
        return np.arange(len(frame), dtype=np.float64) + 0.5


def _post(app: Any, path: str, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> httpx.Response:
    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            return await client.post(path, content=body, headers={"content-type": ctype, **(headers or {})})

    return asyncio.run(go())


def _serve(tmp_path: Path, signature: dict, requests: list[tuple[str, bytes, str, dict[str, str]]]):
    model = Recording()
    spool = CaptureSpool(tmp_path / "spool", percent=100)
    app = ModelServer(from_estimator(model, signature, name="m"), capture=spool)
    for path, body, ctype, headers in requests:
        response = _post(app, path, body, ctype, headers)
        assert response.status_code == 200, response.text
    spool.close()
    records = [json.loads(line) for p in sorted((tmp_path / "spool").rglob("*.jsonl"))
               for line in p.read_text().splitlines()]
    return model, records


ROWS = [[0.5, -1.0, 2.0], [1.5, 3.0, -4.0]]
RECORDS = [dict(zip("abc", r, strict=True)) for r in ROWS]
NUMERIC_SHAPES = {
    "records": ("/invocations", json.dumps(RECORDS), "application/json"),
    "instances_records": ("/invocations", json.dumps({"instances": RECORDS}), "application/json"),
    "rows": ("/invocations", json.dumps(ROWS), "application/json"),
    "instances_rows": ("/invocations", json.dumps({"instances": ROWS}), "application/json"),
    "inputs_records": ("/invocations", json.dumps({"inputs": RECORDS}), "application/json"),
    "columns": ("/invocations", json.dumps({"a": [0.5, 1.5], "b": [-1.0, 3.0], "c": [2.0, -4.0]}), "application/json"),
    "split": ("/invocations", json.dumps({"columns": ["a", "b", "c"], "data": ROWS}), "application/json"),
    "dataframe_split": ("/invocations", json.dumps({"dataframe_split": {"columns": ["a", "b", "c"], "data": ROWS}}),
                        "application/json"),
    "dataframe_records": ("/invocations", json.dumps({"dataframe_records": RECORDS}), "application/json"),
    "csv": ("/invocations", "0.5,-1,2\n1.5,3,-4\n", "text/csv"),
    "csv_header": ("/invocations", "a,b,c\n0.5,-1,2\n1.5,3,-4\n", "text/csv"),
    "v2_columns": ("/v2/models/m/infer", json.dumps({"id": "r1", "inputs": [
        {"name": n, "shape": [2], "datatype": "FP64", "data": [r[i] for r in ROWS]} for i, n in enumerate("abc")]}),
        "application/json"),
    "v2_matrix": ("/v2/models/m/infer", json.dumps({"inputs": [
        {"name": "input-0", "shape": [2, 3], "datatype": "FP64", "data": [x for r in ROWS for x in r]}]}),
        "application/json"),
    "v2_matrix_nested": ("/v2/models/m/infer", json.dumps({"inputs": [
        {"name": "input-0", "shape": [2, 3], "datatype": "FP64", "data": ROWS}]}), "application/json"),
}


@pytest.mark.parametrize("shape", sorted(NUMERIC_SHAPES))
def test_each_accepted_shape_decodes_into_the_rows_the_model_saw(tmp_path, shape):
    path, body, ctype = NUMERIC_SHAPES[shape]
    model, records = _serve(tmp_path, NUMERIC, [(path, body.encode(), ctype, {})])
    window = decode_window(records, parse_signature(NUMERIC), check=True)
    assert window.undecodable == 0 and window.records == 1
    pd.testing.assert_frame_equal(window.inputs.reset_index(drop=True), model.seen[0].reset_index(drop=True))
    assert list(window.inputs.columns) == ["a", "b", "c"]  # never name/shape/datatype/data
    assert window.outputs["prediction"].tolist() == [0.5, 1.5]


def test_mixed_types_decode_as_the_server_converted_them(tmp_path):
    rows = [[10.25, 3, "pro", True], [7.0, 1, "basic", False]]
    names = ["amount", "items", "plan", "vip"]
    csv_text = "amount,items,plan,vip\n10.25,3,pro,true\n7,1,basic,false\n"
    v2 = {"inputs": [{"name": "amount", "shape": [2], "datatype": "FP64", "data": [10.25, 7.0]},
                     {"name": "items", "shape": [2], "datatype": "INT64", "data": [3, 1]},
                     {"name": "plan", "shape": [2], "datatype": "BYTES", "data": ["pro", "basic"]},
                     {"name": "vip", "shape": [2], "datatype": "BOOL", "data": [True, False]}]}
    requests = [("/invocations", json.dumps(rows).encode(), "application/json", {}),
                ("/invocations", json.dumps([dict(zip(names, r, strict=True)) for r in rows]).encode(),
                 "application/json", {}),
                ("/invocations", csv_text.encode(), "text/csv", {}),
                ("/v2/models/m/infer", json.dumps(v2).encode(), "application/json", {})]
    model, records = _serve(tmp_path, MIXED, requests)
    window = decode_window(records, parse_signature(MIXED), check=True)
    assert window.undecodable == 0 and len(window.inputs) == 8
    seen = pd.concat(model.seen, ignore_index=True)
    pd.testing.assert_frame_equal(window.inputs.reset_index(drop=True), seen)
    assert window.inputs["items"].dtype == np.int64 and window.inputs["plan"].tolist()[:2] == ["pro", "basic"]


def test_predictions_decode_from_json_csv_and_oip_v2_answers(tmp_path):
    requests = [("/invocations", json.dumps(ROWS).encode(), "application/json", {}),
                ("/invocations", json.dumps(ROWS).encode(), "application/json", {"accept": "text/csv"}),
                NUMERIC_SHAPES["v2_columns"][:1] + (NUMERIC_SHAPES["v2_columns"][1].encode(), "application/json", {})]
    _, records = _serve(tmp_path, NUMERIC, requests)
    assert [r["captureData"]["endpointOutput"]["observedContentType"] for r in records] == [
        "application/json", "text/csv", "application/json"]
    window = decode_window(records, parse_signature(NUMERIC), check=True)
    assert window.undecodable == 0
    assert window.outputs["prediction"].tolist() == [0.5, 1.5] * 3


def test_records_are_sagemakers_with_the_callers_inference_id_and_custom_attributes(tmp_path):
    """Field by field against the documented record (fixtures/sagemaker/capture.jsonl)."""
    headers = {"X-Amzn-SageMaker-Inference-Id": "order-17", "X-Amzn-SageMaker-Custom-Attributes": "trace=abc"}
    _, records = _serve(tmp_path, NUMERIC, [("/invocations", b"0.5,-1,2\n", "text/csv", headers),
                                            ("/invocations", b"0.5,-1,2\n", "text/csv", {})])
    documented = json.loads((FIXTURES / "capture.jsonl").read_text().splitlines()[0])
    ours, plain = records
    assert list(ours) == list(documented) == ["captureData", "eventMetadata", "eventVersion"]
    assert ours["eventVersion"] == documented["eventVersion"] == "0"
    for side in ("endpointInput", "endpointOutput"):
        assert list(ours["captureData"][side]) == list(documented["captureData"][side])
    assert ours["captureData"]["endpointInput"] == {"observedContentType": "text/csv", "mode": "INPUT",
                                                    "data": "0.5,-1,2\n", "encoding": "CSV"}
    meta = ours["eventMetadata"]
    assert str(uuid.UUID(meta["eventId"])) == meta["eventId"] and uuid.UUID(meta["eventId"]).version == 4
    shape = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z"
    assert re.fullmatch(shape, meta["inferenceTime"]) and re.fullmatch(shape, documented["eventMetadata"]["inferenceTime"])
    assert (meta["inferenceId"], meta["customAttributes"]) == ("order-17", "trace=abc")
    assert set(plain["eventMetadata"]) == {"eventId", "inferenceTime"}
    window = decode_window(records, parse_signature(NUMERIC), check=True)
    assert window.outputs["mergeId"].tolist() == ["order-17", plain["eventMetadata"]["eventId"]]


def test_the_documented_capture_records_decode_with_baseline_columns():
    """A SageMaker endpoint's records (CSV, JSON with an inferenceId, BASE64) without a model signature here."""
    from loopml.serve import Column

    records = [json.loads(line) for line in (FIXTURES / "capture.jsonl").read_text().splitlines()]
    columns = (Column("amount", "double"), Column("items", "long"), Column("plan", "string"))
    window = decode_window(records, columns, check=False)
    assert window.undecodable == 0
    assert window.inputs.to_dict(orient="list") == {"amount": [4.5, 3.5, 5.5], "items": [2, 1, 3],
                                                     "plan": ["basic", "pro", "team"]}
    assert window.outputs["prediction"].tolist() == pytest.approx([0.0254181120544672, 0.91, 0.77])
    assert window.outputs["mergeId"].tolist() == ["aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "order-1002",
                                                  "6c1e0b4e-1a9f-4e0e-8f4b-2a7d9c3e5b10"]


def test_undecodable_records_are_counted(tmp_path):
    _, records = _serve(tmp_path, NUMERIC, [("/invocations", b"0.5,-1,2\n", "text/csv", {})] * 3)
    records[1]["captureData"]["endpointInput"]["data"] = "{not json"
    records[1]["captureData"]["endpointInput"]["observedContentType"] = "application/json"
    records[2]["captureData"]["endpointOutput"]["data"] = "1,2,3,4\n5,6\n"
    window = decode_window(records, parse_signature(NUMERIC), check=True)
    assert (window.records, window.undecodable, len(window.inputs)) == (3, 2, 1)


def test_a_record_the_server_would_refuse_is_undecodable_and_the_others_keep_their_rows(tmp_path):
    """The signature check runs once over the window; it must drop exactly the offending record."""
    body = json.dumps({"instances": RECORDS}).encode()
    _, records = _serve(tmp_path, NUMERIC, [("/invocations", body, "application/json", {})] * 4)
    records[2]["captureData"]["endpointInput"]["data"] = json.dumps([{"a": "x", "b": 1.0, "c": 2.0},
                                                                     {"a": 1.0, "b": 1.0, "c": 2.0}])
    records[3]["captureData"]["endpointInput"]["data"] = json.dumps([{"a": 1.0, "b": 1.0}] * 2)  # a missing column
    window = decode_window(records, parse_signature(NUMERIC), check=True)
    assert (window.records, window.undecodable, len(window.inputs)) == (4, 2, 4)
    ids = [records[i]["eventMetadata"]["eventId"] for i in (0, 1)]
    assert window.inputs.index.tolist() == [ids[0], f"{ids[0]}-1", ids[1], f"{ids[1]}-1"]
    assert window.outputs["eventId"].tolist() == window.inputs.index.tolist()
    assert window.inputs["a"].tolist() == [0.5, 1.5, 0.5, 1.5]
