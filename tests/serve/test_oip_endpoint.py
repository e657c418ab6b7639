"""tritonclient[http] with its defaults against an endpoint's URL: the Open Inference Protocol under the
endpoint's own name (stable across a rollout), binary tensors both ways, the request id echoed, metadata
datatypes equal to what infer returns, probabilities as a named output, /metrics and /openapi.json."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]  # endpoints and servers started for real, on a busy machine


def inputs(rows: np.ndarray) -> list[Any]:
    import tritonclient.http as triton

    out = []
    for i, name in enumerate("abc"):
        tensor = triton.InferInput(name, [len(rows)], "FP64")
        tensor.set_data_from_numpy(rows[:, i].astype(np.float64))  # binary_data=True: tritonclient's default
        out.append(tensor)
    return out


def test_tritonclient_defaults_against_the_endpoint_url(served: Any) -> None:
    import tritonclient.http as triton
    from tritonclient.utils import InferenceServerException

    from loopml import serve

    first = served(0)
    ep = serve.create("churn", "churn@approved")
    url = ep.runtime["url"]
    client = triton.InferenceServerClient(url=url.removeprefix("http://"))
    assert client.is_server_live() and client.is_server_ready()
    assert "binary_tensor_data" in client.get_server_metadata()["extensions"]
    assert client.is_model_ready("churn")
    meta = client.get_model_metadata("churn")
    assert meta["name"] == "churn" and meta["versions"] == [str(first.version)]
    assert [i["name"] for i in meta["inputs"]] == ["a", "b", "c"]
    types = {o["name"]: o["datatype"] for o in meta["outputs"]}

    rows = np.array([[0.5, -1.0, 2.0], [3.0, 2.0, 1.0], [-2.0, -2.0, 0.0]])
    result = client.infer("churn", inputs(rows), request_id="req-1")  # no outputs named: all in binary
    response = result.get_response()
    assert response["id"] == "req-1" and response["model_name"] == "churn"
    assert response["model_version"] == str(first.version)
    assert response["outputs"][0]["parameters"]["binary_data_size"] > 0  # it really came back binary
    predictions = result.as_numpy("predictions")
    assert predictions.tolist() == [0, 1, 0]
    assert response["outputs"][0]["datatype"] == types["predictions"] == "INT64"

    wanted = [triton.InferRequestedOutput("probabilities"), triton.InferRequestedOutput("predictions")]
    both = client.infer("churn", inputs(rows), outputs=wanted, model_version=str(first.version))
    probabilities = both.as_numpy("probabilities")
    assert probabilities.shape == (3, 2) and np.allclose(probabilities.sum(axis=1), 1.0)
    assert (probabilities.argmax(axis=1) == both.as_numpy("predictions")).all()
    assert types["probabilities"] == "FP64"
    assert [o["shape"] for o in meta["outputs"] if o["name"] == "probabilities"] == [[-1, 2]]

    json_only = client.infer("churn", inputs(rows), outputs=[triton.InferRequestedOutput("predictions",
                                                                                          binary_data=False)])
    assert json_only.get_response()["outputs"][0]["data"] == [0, 1, 0]

    for bad in (lambda: client.infer("churn", inputs(rows), model_version="999"),
                lambda: client.infer("churn", inputs(rows), outputs=[triton.InferRequestedOutput("logits")])):
        try:
            bad()
        except InferenceServerException:
            pass
        else:
            raise AssertionError("a version the endpoint does not serve, or an unknown output, must be refused")

    # the same path after a rollout: the endpoint's name stays, the version that served changes
    second = served(1)
    assert serve.update("churn", f"churn:{second.version}")["state"] == "Completed"
    after = client.infer("churn", inputs(rows))
    assert after.get_response()["model_version"] == str(second.version)
    assert client.get_model_metadata("churn")["versions"] == [str(second.version)]

    metrics = httpx.get(url + "/metrics").text
    assert f'loopml_endpoint_requests_total{{variant="churn-v{second.version}"' in metrics
    assert "loopml_endpoint_in_flight" in metrics
    doc = httpx.get(url + "/openapi.json").json()
    assert "churn" in doc["paths"]["/v2/models/{name}/infer"]["post"]["parameters"][0]["schema"]["enum"]
    serve.delete("churn")
