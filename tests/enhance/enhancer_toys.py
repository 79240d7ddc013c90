"""Tiny ONNX models with the interfaces of the published face and frame enhancers, each a known function of
its input so a test can tell which conventions the caller applied.

- face enhancer: ``output[c] = gain * input[(c + 1) % 3] + offset`` (+ ``weight`` for CodeFormer's
  layout): the cyclic channel shift shows a wrong channel order (a swap of R and B alone would hide it),
  the gain and offset show the pixel range fed and read back;
- upscaler: the input's channels shifted the same way, ``1 - x``, then enlarged ``scale`` times by
  nearest-neighbour (optionally after a 3x3 box blur, to give the model spatial context).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from onnx import TensorProto, helper, numpy_helper
from onnx_toys import _save


def _shift(name: str, out: str) -> list:
    """Nodes taking ``name`` [B, 3, H, W] to its channels in the order (1, 2, 0)."""
    return [helper.make_node("Gather", [name, "order"], [out], axis=1)]


def _order() -> object:
    return numpy_helper.from_array(np.array([1, 2, 0], dtype=np.int64), "order")


def face_enhancer_model(
    path: Path,
    size: int,
    *,
    gain: float = -1.0,
    offset: float = 0.0,
    fidelity_input: bool = False,
    batch: int | str = 1,
) -> Path:
    """``output = gain * shift(input) + offset (+ weight)``; ``fidelity_input`` adds CodeFormer's
    ``weight`` input (float64, shape [1])."""
    nodes = [
        *_shift("input", "shifted"),
        helper.make_node("Mul", ["shifted", "gain"], ["scaled"]),
        helper.make_node("Add", ["scaled", "offset"], ["output" if not fidelity_input else "base"]),
    ]
    initializers = [
        _order(),
        numpy_helper.from_array(np.array(gain, dtype=np.float32), "gain"),
        numpy_helper.from_array(np.array(offset, dtype=np.float32), "offset"),
    ]
    inputs = [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, 3, size, size])]
    if fidelity_input:
        nodes += [
            helper.make_node("Cast", ["weight"], ["weight_float"], to=TensorProto.FLOAT),
            helper.make_node("Add", ["base", "weight_float"], ["output"]),
        ]
        inputs.append(helper.make_tensor_value_info("weight", TensorProto.DOUBLE, [1]))
    outputs = [helper.make_tensor_value_info("output", TensorProto.FLOAT, [batch, 3, size, size])]
    return _save(path, nodes, inputs, outputs, initializers)


def upscaler_model(path: Path, scale: int, *, blur: bool = False, side: int | str = "height") -> Path:
    """``output = nearest_upscale(1 - shift(input), scale)``, after a zero-padded 3x3 box blur when
    ``blur``; dynamic height and width unless ``side`` fixes both."""
    nodes = [*_shift("input", "shifted"), helper.make_node("Sub", ["one", "shifted"], ["inverted"])]
    initializers = [
        _order(),
        numpy_helper.from_array(np.array(1.0, dtype=np.float32), "one"),
        numpy_helper.from_array(np.array([1, 1, scale, scale], dtype=np.float32), "scales"),
    ]
    source = "inverted"
    if blur:
        kernel = np.zeros((3, 3, 3, 3), dtype=np.float32)
        for c in range(3):
            kernel[c, c] = 1.0 / 9.0
        initializers.append(numpy_helper.from_array(kernel, "kernel"))
        nodes.append(helper.make_node("Conv", ["inverted", "kernel"], ["blurred"], pads=[1, 1, 1, 1]))
        source = "blurred"
    nodes.append(helper.make_node("Resize", [source, "", "scales"], ["output"], mode="nearest"))
    width: int | str = side if isinstance(side, int) else "width"
    out_side: int | str = side * scale if isinstance(side, int) else "out_height"
    out_width: int | str = side * scale if isinstance(side, int) else "out_width"
    inputs = [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, side, width])]
    outputs = [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, out_side, out_width])]
    return _save(path, nodes, inputs, outputs, initializers)


def shifted(image: np.ndarray) -> np.ndarray:
    """The channel shift the toys apply, on an ``(..., 3)`` RGB array."""
    return image[..., [1, 2, 0]]


def replacing_enhancer_model(path: Path, face: np.ndarray) -> Path:
    """A deliberately identity-changing face enhancer: ``output = face + 0 * input`` whatever it is given,
    ``face`` a ``(S, S, 3)`` uint8 RGB crop of another person in the family's layout."""
    size = face.shape[0]
    constant = (face.astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)[None]
    nodes = [
        helper.make_node("Mul", ["input", "zero"], ["nothing"]),
        helper.make_node("Add", ["nothing", "face"], ["output"]),
    ]
    initializers = [
        numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero"),
        numpy_helper.from_array(np.ascontiguousarray(constant), "face"),
    ]
    inputs = [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, size, size])]
    outputs = [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, size, size])]
    return _save(path, nodes, inputs, outputs, initializers)
