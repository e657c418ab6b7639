"""The ``onnx`` flavor: one self-contained ``model.onnx`` run with ONNX Runtime.

Tensors stored as external data are refused both when saving and when loading: an external-data
location is a path the file chooses, which is how an ONNX file reads files outside its folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from loopml.errors import UnsafeModelError, ValidationError
from loopml.models._flavors import Saved
from loopml.models.manifest import ModelInfo, OutputSpec

FILE_FORMAT = "onnx"
MODEL_FILE = "model.onnx"
_NUMPY = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(int64)": np.int64,
          "tensor(int32)": np.int32, "tensor(string)": object, "tensor(bool)": np.bool_}


def handles(model: Any) -> bool:
    """True for ``onnx.ModelProto``."""
    import onnx

    return isinstance(model, onnx.ModelProto)


def save(model: Any, folder: Path) -> Saved:
    """Write the model as a single file, refusing external data."""
    import onnx

    refuse_external_data(model)
    (folder / MODEL_FILE).write_bytes(model.SerializeToString())
    outputs = [o.name for o in model.graph.output]
    output = OutputSpec("classification") if len(outputs) >= 2 else OutputSpec("unknown")
    return Saved(MODEL_FILE, "onnx", onnx.__version__, output,
                 {"inputs": [i.name for i in model.graph.input], "outputs": outputs})


def refuse_external_data(model: Any) -> None:
    """Raise UnsafeModelError if any tensor of ``model`` (subgraphs included) is stored outside the file."""
    import onnx

    for tensor in _tensors(model.graph):
        if tensor.data_location == onnx.TensorProto.EXTERNAL or len(tensor.external_data):
            where = next((e.value for e in tensor.external_data if e.key == "location"), "?")
            raise UnsafeModelError(
                f"ONNX tensor {tensor.name!r} is stored as external data at {where!r}; loopml accepts only "
                "single-file ONNX models. Re-export with onnx.save_model(model, path, "
                "save_as_external_data=False)", tensor=tensor.name)


def _tensors(graph: Any) -> Iterator[Any]:
    yield from graph.initializer
    yield from (s.values for s in graph.sparse_initializer)
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                yield attr.t
            yield from attr.tensors
            if attr.HasField("g"):
                yield from _tensors(attr.g)
            for sub in attr.graphs:
                yield from _tensors(sub)


def inspect(data: bytes, info: ModelInfo, *, trust: bool) -> None:
    """Refuse external data before anything opens the model (the protobuf parse runs no code)."""
    import onnx

    refuse_external_data(onnx.load_model_from_string(data))


def load(data: bytes, info: ModelInfo, *, trust: bool) -> Any:
    """Open an ONNX Runtime session on verified, inspected bytes."""
    import onnxruntime

    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    cls = _OnnxClassifier if len(session.get_outputs()) >= 2 else _OnnxPredictor
    return cls(session, info)


def check_signature(model: Any, names: list[str]) -> list[str]:
    """The graph inputs must be the signature columns, or one tensor as wide as the signature."""
    inputs = [i for i in model.graph.input if i.name not in {t.name for t in model.graph.initializer}]
    if len(inputs) > 1:
        if sorted(i.name for i in inputs) != sorted(names):
            raise ValidationError(f"the signature columns {names} differ from the ONNX inputs "
                                  f"{[i.name for i in inputs]}", expected=[i.name for i in inputs], got=names)
        return names
    dims = inputs[0].type.tensor_type.shape.dim if inputs else []
    width = dims[-1].dim_value if len(dims) >= 2 else 0
    if width and width != len(names):
        raise ValidationError(f"the ONNX input takes {width} features but the signature has {len(names)} "
                              "columns; pass a signature with exactly the model's inputs",
                              expected=width, got=len(names))
    return names


class _OnnxPredictor:
    """``predict``/``predict_proba`` over an ONNX Runtime session (label first, probabilities second)."""

    def __init__(self, session: Any, info: ModelInfo) -> None:
        self.session = session
        self.classes_ = np.asarray(info.output.classes) if info.output.classes is not None else None

    def _feed(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        inputs = self.session.get_inputs()
        if len(inputs) == 1:
            return {inputs[0].name: frame.to_numpy().astype(_NUMPY.get(inputs[0].type, np.float32))}
        return {i.name: frame[[i.name]].to_numpy().astype(_NUMPY.get(i.type, np.float32)) for i in inputs}

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.session.run(None, self._feed(frame))[0]).ravel()


class _OnnxClassifier(_OnnxPredictor):
    """An ONNX classifier: the second output holds the probabilities."""

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        outputs = self.session.run(None, self._feed(frame))
        proba = outputs[1]
        if isinstance(proba, list):  # ZipMap: one {label: probability} dict per row
            labels = list(proba[0]) if proba else []
            return np.asarray([[row[k] for k in labels] for row in proba])
        return np.asarray(proba)
