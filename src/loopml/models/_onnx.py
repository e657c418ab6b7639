"""The ``onnx`` flavor: one self-contained ``model.onnx`` run with ONNX Runtime.

An ONNX tensor may live outside the file ("external data"): its ``location`` is a path the file chooses,
resolved by ONNX Runtime against the model's folder — or, for a model loaded from bytes, against the
working directory. That is how an ONNX file reads files of the host it runs on. So every tensor the
protobuf holds anywhere (initializers, sparse values and indices, node attributes, If/Loop/Scan
subgraphs, local functions and their attribute defaults, training graphs, fields this ``onnx`` does not
know) is checked, and any external reference is refused when saving, registering and loading. ONNX
Runtime then gets the re-serialized, checked protobuf (unknown fields dropped) and an empty private
folder as the only place external data could resolve, so nothing resolves against the working directory.
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

    (folder / MODEL_FILE).write_bytes(_checked_bytes(model.SerializeToString()))
    outputs = [o.name for o in model.graph.output]
    output = OutputSpec("classification") if len(outputs) >= 2 else OutputSpec("unknown")
    return Saved(MODEL_FILE, "onnx", onnx.__version__, output,
                 {"inputs": [i.name for i in model.graph.input], "outputs": outputs})


def refuse_external_data(model: Any) -> None:
    """Raise UnsafeModelError if any tensor anywhere in ``model`` names external data (or has unknown fields).

    Raises:
        UnsafeModelError: naming every external tensor and its location.
    """
    found = [_where(t) for t in _tensors(model)]
    if found:
        raise UnsafeModelError(
            f"ONNX tensors stored as external data: {', '.join(found[:10])}; an external-data location is a "
            "path outside the model file, so loopml accepts only single-file ONNX models. Re-export with "
            "onnx.save_model(model, path, save_as_external_data=False)", tensors=found)


def _where(tensor: Any) -> str:
    location = next((e.value for e in tensor.external_data if e.key == "location"), "?")
    return f"{tensor.name or '<unnamed>'!r} at {location!r}"


def _tensors(message: Any) -> Iterator[Any]:
    """Every TensorProto with external data anywhere in ``message``, found by walking each message field
    (so places added in later ONNX versions are walked too)."""
    import onnx

    stack = [message]
    while stack:
        current = stack.pop()
        if isinstance(current, onnx.TensorProto) and (
                current.data_location == onnx.TensorProto.EXTERNAL or len(current.external_data)):
            yield current
        for field, value in current.ListFields():
            if field.type != field.TYPE_MESSAGE:
                continue
            if hasattr(value, "ListFields"):
                stack.append(value)
            else:  # a repeated field (ONNX has no map fields)
                stack.extend(value)


def _checked_bytes(data: bytes) -> bytes:
    """Parse, drop fields this ``onnx`` does not know, refuse external data, and serialize again."""
    import onnx

    try:
        model = onnx.load_model_from_string(data)
    except Exception as exc:  # noqa: BLE001 - any parse failure is a bad model file
        raise ValidationError(f"model.onnx is not a valid ONNX protobuf ({type(exc).__name__}); re-export it") \
            from exc
    model.DiscardUnknownFields()
    refuse_external_data(model)
    return bytes(model.SerializeToString())


def inspect(data: bytes, info: ModelInfo, *, trust: bool) -> None:
    """Refuse external data before anything opens the model (the protobuf parse runs no code)."""
    _checked_bytes(data)


def load(data: bytes, info: ModelInfo, *, trust: bool) -> Any:
    """Open an ONNX Runtime session on the checked protobuf, with external data confined to an empty folder."""
    import tempfile

    import onnxruntime

    options = onnxruntime.SessionOptions()
    with tempfile.TemporaryDirectory(prefix="loopml-onnx-") as empty:
        options.add_session_config_entry("session.model_external_initializers_file_folder_path", empty)
        session = onnxruntime.InferenceSession(_checked_bytes(data), options, providers=["CPUExecutionProvider"])
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
