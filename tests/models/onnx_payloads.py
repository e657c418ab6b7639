"""ONNX models that name external data from every place ONNX can hold a tensor (RELIABILITY case 42).

Each builder returns a ``ModelProto`` computing ``Y = X + k`` where ``k`` is a float32 tensor whose bytes are
read from ``location``: if a loader resolved it, a prediction would carry the canary's value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

CANARY_VALUE = 4242.0
CANARY_BYTES = np.array([CANARY_VALUE], np.float32).tobytes()


def _external(name: str, location: str, *, data_type: int | None = None) -> Any:
    from onnx import TensorProto

    tensor = TensorProto(name=name, data_type=data_type or TensorProto.FLOAT, dims=[1])
    tensor.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", "4")):
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value
    return tensor


def _io() -> tuple[list[Any], list[Any]]:
    from onnx import TensorProto, helper

    return ([helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 1])],
            [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [None, 1])])


def _model(nodes: list[Any], *, initializer: list[Any] = (), sparse: list[Any] = (), **extra: Any) -> Any:
    from onnx import helper

    inputs, outputs = _io()
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializer), sparse_initializer=list(sparse))
    opsets = [helper.make_opsetid("", 17), *extra.pop("opsets", [])]
    return helper.make_model(graph, opset_imports=opsets, **extra)


def _add() -> Any:
    from onnx import helper

    return helper.make_node("Add", ["X", "k"], ["Y"])


def initializer(location: str) -> Any:
    return _model([_add()], initializer=[_external("k", location)])


def sparse_values(location: str) -> Any:
    from onnx import TensorProto, helper

    sparse = helper.make_sparse_tensor(_external("k", location), helper.make_tensor("i", TensorProto.INT64,
                                                                                    [1], [0]), [1])
    return _model([_add()], sparse=[sparse])


def sparse_indices(location: str) -> Any:
    from onnx import TensorProto, helper

    values = helper.make_tensor("k", TensorProto.FLOAT, [1], [1.0])
    sparse = helper.make_sparse_tensor(values, _external("i", location, data_type=TensorProto.INT64), [1])
    return _model([_add()], sparse=[sparse])


def constant(location: str) -> Any:
    from onnx import helper

    return _model([helper.make_node("Constant", [], ["k"], value=_external("c", location)), _add()])


def sparse_constant(location: str) -> Any:
    from onnx import TensorProto, helper

    sparse = helper.make_sparse_tensor(_external("v", location), helper.make_tensor("i", TensorProto.INT64,
                                                                                    [1], [0]), [1])
    return _model([helper.make_node("Constant", [], ["k"], sparse_value=sparse), _add()])


def if_branch(location: str) -> Any:
    from onnx import TensorProto, helper

    out = [helper.make_tensor_value_info("k", TensorProto.FLOAT, [1])]
    branch = helper.make_graph([helper.make_node("Constant", [], ["k"], value=_external("c", location))],
                               "then", [], out)
    other = helper.make_graph([helper.make_node("Constant", [], ["k"], value=helper.make_tensor(
        "z", TensorProto.FLOAT, [1], [0.0]))], "else", [], out)
    cond = helper.make_node("Constant", [], ["cond"], value=helper.make_tensor("b", TensorProto.BOOL, [], [True]))
    node = helper.make_node("If", ["cond"], ["k"], then_branch=branch, else_branch=other)
    return _model([cond, node, _add()])


def function_constant(location: str) -> Any:
    from onnx import helper

    body = [helper.make_node("Constant", [], ["c"], value=_external("c", location)),
            helper.make_node("Add", ["x", "c"], ["y"])]
    fn = helper.make_function("custom", "AddK", ["x"], ["y"], body, [helper.make_opsetid("", 17)])
    return _model([helper.make_node("AddK", ["X"], ["Y"], domain="custom")], functions=[fn],
                  opsets=[helper.make_opsetid("custom", 1)])


def function_attribute_default(location: str) -> Any:
    from onnx import AttributeProto, helper

    body = [helper.make_node("Constant", [], ["c"], value=_external("unused", "x")),
            helper.make_node("Add", ["x", "c"], ["y"])]
    fn = helper.make_function("custom", "AddK", ["x"], ["y"], body, [helper.make_opsetid("", 17)])
    del fn.node[0].attribute[:]
    ref = fn.node[0].attribute.add()
    ref.name, ref.ref_attr_name, ref.type = "value", "k", AttributeProto.TENSOR
    fn.attribute_proto.append(helper.make_attribute("k", _external("k", location)))
    return _model([helper.make_node("AddK", ["X"], ["Y"], domain="custom")], functions=[fn],
                  opsets=[helper.make_opsetid("custom", 1)])


def training_graph(location: str) -> Any:
    from onnx import TrainingInfoProto, helper

    model = _model([helper.make_node("Constant", [], ["k"], value=helper.make_tensor("k", 1, [1], [0.0])),
                    _add()])
    info = TrainingInfoProto()
    info.initialization.CopyFrom(helper.make_graph([], "init", [], [], [_external("w", location)]))
    model.training_info.append(info)
    return model


PLACES: dict[str, Callable[[str], Any]] = {
    "initializer": initializer, "sparse-values": sparse_values, "sparse-indices": sparse_indices,
    "constant": constant, "sparse-constant": sparse_constant, "if-subgraph": if_branch,
    "function-constant": function_constant, "function-attribute-default": function_attribute_default,
    "training-graph": training_graph,
}
