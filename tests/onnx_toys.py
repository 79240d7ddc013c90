"""Tiny ONNX models with exactly the interfaces of the published swappers, recognisers and converters.

Each computes a known function of its inputs, so a test can tell which conventions the caller applied:

- swapper: ``output = target + source[:, :3]`` per channel: the pixel range fed, the channel order, the
  de-normalisation of the output and the ``source`` vector all show in the result;
- recogniser: ``embedding = channel_means(input) @ W + b``: the crop's pixel range and channel order show;
- converter: ``output = input @ C + d``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def _save(path: Path, nodes, inputs, outputs, initializers) -> Path:
    graph = helper.make_graph(nodes, "toy", inputs, outputs, initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def _ints(name: str, values: list[int]) -> onnx.TensorProto:
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


def swapper_model(
    path: Path,
    size: int,
    *,
    batch: int | str = "batch",
    element_type: int = TensorProto.FLOAT,
    emap: np.ndarray | None = None,
    input_names: tuple[str, str] = ("target", "source"),
    output_name: str = "output",
) -> Path:
    """``output = target + source[:, :3]``; ``emap`` (when given) is appended as the last initializer, unused
    by the graph, the way inswapper carries it."""
    target, source = input_names
    nodes = [
        helper.make_node("Slice", [source, "starts", "ends", "axes"], ["rgb"]),
        helper.make_node("Unsqueeze", ["rgb", "spatial"], ["offset"]),
        helper.make_node("Add", [target, "offset"], [output_name]),
    ]
    initializers = [_ints("starts", [0]), _ints("ends", [3]), _ints("axes", [1]), _ints("spatial", [2, 3])]
    if emap is not None:
        initializers.append(numpy_helper.from_array(emap, "emap"))
    inputs = [
        helper.make_tensor_value_info(target, element_type, [batch, 3, size, size]),
        helper.make_tensor_value_info(source, element_type, [batch, 512]),
    ]
    outputs = [helper.make_tensor_value_info(output_name, element_type, [batch, 3, size, size])]
    return _save(path, nodes, inputs, outputs, initializers)


def recogniser_model(
    path: Path, weights: np.ndarray, bias: np.ndarray, *, batch: int | str = "batch"
) -> Path:
    """``embedding = mean over pixels of input (per channel) @ weights + bias``; weights ``(3, 512)``."""
    nodes = [
        helper.make_node("ReduceMean", ["input"], ["means"], axes=[2, 3], keepdims=0),
        helper.make_node("MatMul", ["means", "weights"], ["projected"]),
        helper.make_node("Add", ["projected", "bias"], ["embedding"]),
    ]
    initializers = [numpy_helper.from_array(weights, "weights"), numpy_helper.from_array(bias, "bias")]
    inputs = [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, 3, 112, 112])]
    outputs = [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [batch, 512])]
    return _save(path, nodes, inputs, outputs, initializers)


def converter_model(path: Path, matrix: np.ndarray, bias: np.ndarray) -> Path:
    """``output = input @ matrix + bias`` on ``[1, 512]``."""
    nodes = [
        helper.make_node("MatMul", ["input", "matrix"], ["projected"]),
        helper.make_node("Add", ["projected", "bias"], ["output"]),
    ]
    initializers = [numpy_helper.from_array(matrix, "matrix"), numpy_helper.from_array(bias, "bias")]
    inputs = [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 512])]
    outputs = [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 512])]
    return _save(path, nodes, inputs, outputs, initializers)
