"""SageMaker script-mode models (issue 13): a script-mode training job's output registers with its inference
script, needs trust_code, is approved by another person, deploys, and answers text/csv and application/json
through model_fn / input_fn / predict_fn / output_fn inside the replica sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from loopml import models, registry, serve, train
from loopml.errors import UnsafeModelError, ValidationError

SCRIPT = Path(__file__).parent / "resources" / "sm_sklearn_script.py"


def _data() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"tenure": rng.uniform(0, 48, 300), "calls": rng.integers(0, 8, 300).astype(float)})
    return frame.assign(churned=((frame["calls"] > 3) & (frame["tenure"] < 24)).astype(int))


@pytest.fixture
def trained(roles: Path):  # noqa: ANN201
    from loopml.data import register_dataset

    register_dataset("churn_sm", _data())
    run = train.run(SCRIPT, channels={"train": "churn_sm"}, hyperparameters={"C": 2.0}, stream=False,
                    raise_on_failure=True)
    assert run.status == "COMPLETED" and run.model_digest
    return run


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_script_mode_job_registers_deploys_and_answers_csv_and_json(trained) -> None:  # noqa: ANN001
    with pytest.raises(UnsafeModelError, match="trust_code=True"):
        registry.register_run(trained.id, "churn-sm")
    version = registry.register_run(trained.id, "churn-sm", trust_code=True, description="script mode")
    assert version.flavor == "script" and version.trusted_by == "alice"
    assert version.lineage["run_id"] == trained.id and version.lineage["datasets"][0]["name"] == "churn_sm"
    registry.approve("churn-sm", version.version, actor="bob", note="read the script")
    serve.create("churn-sm", "churn-sm@approved")
    try:
        url = serve.get("churn-sm").runtime["url"] + "/invocations"
        csv = httpx.post(url, content=b"2.0,6\n40.0,0\n", headers={"content-type": "text/csv", "accept": "text/csv"})
        default = serve.invoke("churn-sm", b"2.0,6\n40.0,0\n", content_type="text/csv")  # no Accept: JSON
        answer = serve.invoke("churn-sm", json.dumps({"instances": [[2.0, 6], [40.0, 0]]}).encode())
        bad = serve.invoke("churn-sm", b"<xml/>", content_type="application/xml")
        told = httpx.post(url, content=b"2.0,6\n40.0,0\n", headers={
            "content-type": "text/csv", "x-amzn-sagemaker-custom-attributes": "threshold=0.0",
            "x-amzn-sagemaker-inference-id": "order-9"})
    finally:
        serve.delete("churn-sm")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    labels = [line.split(",")[0] for line in csv.text.strip().splitlines()]
    assert labels == ["1", "0"] and csv.headers["x-model-digest"] == version.digest
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/json")
    assert [p["label"] for p in answer.json()["predictions"]] == [1, 0] == [
        p["label"] for p in default.json()["predictions"]]
    assert bad.status_code == 500 and bad.json()["error"] == "model_error"
    # CustomAttributes and InferenceId reach the handlers that take the context argument
    assert told.status_code == 200, told.text
    assert [p["label"] for p in told.json()["predictions"]] == [1, 1] and told.json()["inference_id"] == "order-9"


def test_handlers_that_take_a_context_read_the_request_as_either_container_offers_it(tmp_path: Path) -> None:
    """TensorFlow Serving's attribute names and TorchServe's get_request_header, on every handler."""
    import joblib
    from sklearn.linear_model import LinearRegression

    (tmp_path / "m").mkdir()
    joblib.dump(LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0]), tmp_path / "m" / "m.joblib")
    (tmp_path / "inference.py").write_text(
        "import json, os, joblib\n"
        "def model_fn(model_dir):\n    return joblib.load(os.path.join(model_dir, 'm.joblib'))\n"
        "def input_fn(body, content_type, context):\n"
        "    return [[float(x)] for x in body.split()], context.custom_attributes\n"
        "def predict_fn(data, model, context):\n"
        "    rows, attributes = data\n"
        "    return [round(float(v), 6) for v in model.predict(rows)], attributes, context.get_request_header(0, 'X-Amzn-SageMaker-Inference-Id')\n"
        "def output_fn(prediction, accept, context):\n"
        "    values, attributes, inference_id = prediction\n"
        "    return json.dumps({'values': values, 'attributes': attributes, 'id': inference_id,\n"
        "                       'accept': context.accept_header, 'type': context.request_content_type})\n")
    models.save_script(tmp_path / "m", tmp_path / "saved", entry_point=tmp_path / "inference.py")
    script = models.load(tmp_path / "saved", trust=True).model
    body, _ = script.invoke(b"0\n1", "text/csv", None, custom_attributes="scale=2", inference_id="r-1")
    assert json.loads(body) == {"values": [0.0, 1.0], "attributes": "scale=2", "id": "r-1",
                                "accept": "application/json", "type": "text/csv"}
    body, _ = script.invoke(b"1", "text/csv", "application/json")  # no attributes: None, as SageMaker gives
    assert json.loads(body)["attributes"] is None and json.loads(body)["id"] is None


def test_register_refuses_a_script_that_breaks_the_contract_or_needs_missing_packages(roles: Path,
                                                                                      tmp_path: Path) -> None:
    folder = tmp_path / "sm"
    (folder / "code").mkdir(parents=True)
    (folder / "model.bin").write_bytes(b"weights")
    cases = {"def predict_fn(data, model):\n    return data\n": "no model_fn",
             "def model_fn(d):\n    return 1\ndef transform_fn(m, b, c, a):\n    return b\n"
             "def input_fn(b, c):\n    return b\n": "transform_fn cannot be used together",
             "def model_fn(d):\n    return 1\ndef output_fn(p):\n    return p\n": "output_fn takes 1 arguments",
             "def model_fn(d) return 1\n": "not valid Python"}
    for source, expected in cases.items():
        (folder / "code" / "inference.py").write_text(source)
        with pytest.raises(ValidationError, match=expected):
            registry.register(folder, "sm", trust_code=True)
    (folder / "code" / "inference.py").write_text("def model_fn(d):\n    return 1\n")
    (folder / "code" / "requirements.txt").write_text("numpy>=1\nno-such-package-loopml==1.0\n")
    with pytest.raises(ValidationError, match="no-such-package-loopml"):
        registry.register(folder, "sm", trust_code=True)
    (folder / "code" / "requirements.txt").write_text("numpy>=1\n")
    assert registry.register(folder, "sm", trust_code=True).flavor == "script"


def test_the_default_handlers_follow_the_containers(tmp_path: Path) -> None:
    import joblib
    import xgboost
    from sklearn.linear_model import LinearRegression

    X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]])
    (tmp_path / "sk").mkdir()
    joblib.dump(LinearRegression().fit(X, [1.0, 2.0, 3.0]), tmp_path / "sk" / "m.joblib")
    (tmp_path / "sk" / "inference.py").write_text(
        "import joblib, os\ndef model_fn(model_dir, context):\n    return joblib.load(os.path.join(model_dir, 'm.joblib'))\n")
    models.save_script(tmp_path / "sk", tmp_path / "skm")
    sk = models.load(tmp_path / "skm", trust=True).model
    body, kind = sk.invoke(b"[[0, 1], [1, 0]]", "application/json", "*/*")
    assert kind == "application/json" and np.allclose(json.loads(body), [1.0, 2.0])
    body, kind = sk.invoke(b"0,1\n1,0\n", "text/csv", "text/csv")
    assert kind == "text/csv" and np.allclose([float(x) for x in body.decode().split()], [1.0, 2.0])
    with pytest.raises(ValidationError, match="not decoded by the default input_fn"):
        sk.invoke(b"x", "application/x-python-pickle", None)
    booster = xgboost.train({"max_depth": 2}, xgboost.DMatrix(X, label=[0.0, 1.0, 1.0]), 3)
    (tmp_path / "xgb").mkdir()
    booster.save_model(tmp_path / "xgb" / "xgboost-model.json")
    script = tmp_path / "serve.py"
    script.write_text("import os, xgboost\ndef model_fn(model_dir):\n    b = xgboost.Booster()\n"
                      "    b.load_model(os.path.join(model_dir, 'xgboost-model.json'))\n    return b\n")
    models.save_script(tmp_path / "xgb", tmp_path / "xgm", entry_point=script, container="xgboost")
    xg = models.load(tmp_path / "xgm", trust=True).model
    body, kind = xg.invoke(b"0,1\n2,2", "text/csv", None)
    assert kind == "application/json"
    assert np.allclose(json.loads(body), booster.predict(xgboost.DMatrix(X[[0, 2]])))
