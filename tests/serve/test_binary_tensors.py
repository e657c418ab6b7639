"""The binary tensor extension, encoded and decoded by tritonclient's own code on the other side."""

from __future__ import annotations

import numpy as np
import pytest

from loopml.serve import _binary_tensors
from loopml.serve.errors import MalformedRequest

ARRAYS = {"FP64": np.array([0.5, -1.25, 3.0]), "FP32": np.array([1.5, 2.5], dtype=np.float32),
          "INT64": np.array([7, -8, 9]), "INT8": np.array([1, -2], dtype=np.int8), "BOOL": np.array([True, False]),
          "UINT16": np.array([65535, 0], dtype=np.uint16),
          "BYTES": np.array([b"basic", "ü".encode(), b""], dtype=np.object_)}


def request_body(datatypes: list[str]) -> tuple[bytes, int]:
    from tritonclient.http import InferInput
    from tritonclient.http._utils import _get_inference_request

    inputs = []
    for i, datatype in enumerate(datatypes):
        tensor = InferInput(f"x{i}", list(ARRAYS[datatype].shape), datatype)
        tensor.set_data_from_numpy(ARRAYS[datatype])
        inputs.append(tensor)
    body, length = _get_inference_request(inputs, "req-9", None, 0, False, False, 0, None, None)
    return body, length


def test_tritonclient_requests_decode_to_json_tensors() -> None:
    kinds = list(ARRAYS)
    body, length = request_body(kinds)
    doc, raw = _binary_tensors.to_json(body, str(length))
    assert doc["id"] == "req-9" and _binary_tensors.wanted(doc) is True  # no outputs named: all binary
    for tensor, kind in zip(doc["inputs"], kinds, strict=True):
        expected = [x.decode() for x in ARRAYS[kind]] if kind == "BYTES" else ARRAYS[kind].tolist()
        assert tensor["data"] == expected and "binary_data_size" not in tensor.get("parameters", {})
    assert b"binary_data_size" not in raw


def test_answers_decode_with_tritonclient() -> None:
    from tritonclient.http import InferResult

    answer = {"id": "r", "model_name": "m", "outputs": [
        {"name": "predictions", "shape": [3], "datatype": "INT64", "data": [0, 1, 0]},
        {"name": "probabilities", "shape": [3, 2], "datatype": "FP64", "data": [0.9, 0.1, 0.2, 0.8, 0.6, 0.4]},
        {"name": "labels", "shape": [2], "datatype": "BYTES", "data": ["yes", "nö"]}]}
    body, length = _binary_tensors.from_json(answer, {"probabilities", "labels"})
    result = InferResult.from_response_body(body, header_length=length)
    assert result.as_numpy("predictions").tolist() == [0, 1, 0]  # asked in JSON, stays JSON
    assert result.as_numpy("probabilities").tolist() == [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]
    assert result.as_numpy("labels").tolist() == [b"yes", "nö".encode()]


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda body, n: (body, str(len(body) + 1)), "not a length within the body"),
    (lambda body, n: (body, "x"), "not a length"),
    (lambda body, n: (body[:-1], str(n)), "past the end of the body"),
    (lambda body, n: (body + b"\0", str(n)), "bytes after the last binary input"),
    (lambda body, n: (b"}" + body[1:], str(n)), "not JSON"),
])
def test_lying_binary_requests_are_400(mutate, message) -> None:  # noqa: ANN001
    body, length = request_body(["FP64"])
    with pytest.raises(MalformedRequest, match=message):
        _binary_tensors.to_json(*mutate(body, length))


def test_a_binary_size_that_is_not_whole_values_is_400() -> None:
    body, length = request_body(["FP64"])
    shorter = body.replace(b'"binary_data_size":24', b'"binary_data_size":23')
    with pytest.raises(MalformedRequest):
        _binary_tensors.to_json(shorter, str(length))
