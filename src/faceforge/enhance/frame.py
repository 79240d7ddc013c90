"""Frame enhancers: a Real-ESRGAN-class ONNX upscaler as a frame processor, run tile by tile.

The model takes ``[1, 3, H, W]`` float32 RGB in [0, 1] and returns ``[1, 3, kH, kW]`` in [0, 1] (the I/O
facefusion's Real-ESRGAN, UltraSharp and SPAN exports share); ``k`` is read from the model by running it
once on a small tile. A frame is cut into ``tile``-px tiles, each run with ``margin`` px of context on
every side (reflected at the frame's edge) and only its centre kept, so tiles meet without seams while
memory stays bounded by the tile, not the frame. The upscaled frame is mixed with the bicubic
up-scaling of the input by the step's blend. Frames grow ``k`` times: the video writer is opened at
the chain's output size (:meth:`faceforge.processors.chain.ProcessorChain.output_size`).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from faceforge.errors import WeightsError
from faceforge.swappers.base import release_models
from faceforge.weights import find_entry, resolve_weights
from faceforge.weights.onnx_session import create_session, describe_io

MARGIN = 16  # context around each tile, in input pixels
_PROBE = 2 * MARGIN + 8


class OnnxUpscaler:
    """Runs an ONNX super-resolution model on whole frames, tiled (see the module docstring)."""

    def __init__(self, weights: str, tile: int = 256, device: str = "auto") -> None:
        entry = find_entry(weights)
        if entry is not None and entry.kind != "onnx-frame-enhancer":
            raise WeightsError(f"The weights '{weights}' are a {entry.kind}, not an ONNX frame enhancer.")
        self.path = resolve_weights(weights)
        self._session = create_session(self.path, device)
        io = describe_io(self._session)
        if len(io.inputs) != 1 or len(io.inputs[0].shape) != 4 or io.inputs[0].dim(1) not in (None, 3):
            raise WeightsError(
                f"{self.path} is not an upscaler faceforge can run: it declares {io.summary()}, and "
                "faceforge needs one [1,3,H,W] input and a [1,3,kH,kW] output."
            )
        self._input = io.inputs[0]
        self._output = io.outputs[0].name
        fixed = self._input.dim(2)
        self.window = fixed if fixed is not None else tile + 2 * MARGIN
        if self.window <= 2 * MARGIN:
            raise WeightsError(f"{self.path} takes {fixed}-px tiles, too small for {MARGIN}-px margins.")
        probe = self._run(np.zeros((self.window if fixed else _PROBE,) * 2 + (3,), np.uint8))
        self.scale = probe.shape[0] // (self.window if fixed else _PROBE)
        if self.scale < 1:
            raise WeightsError(f"{self.path} does not upscale (its output is smaller than its input).")

    def _run(self, tile: np.ndarray) -> np.ndarray:
        pixels = (tile.astype(np.float32) / 255.0).transpose(2, 0, 1)[None].astype(self._input.dtype)
        output = self._session.run([self._output], {self._input.name: pixels})[0][0]
        output = np.clip(output.astype(np.float32), 0.0, 1.0) * 255.0
        return np.round(output).astype(np.uint8).transpose(1, 2, 0)

    def upscale(self, frame: np.ndarray) -> np.ndarray:
        """``frame`` ``(H, W, 3)`` uint8 RGB upscaled to ``(kH, kW, 3)``."""
        height, width = frame.shape[:2]
        k, core = self.scale, self.window - 2 * MARGIN
        pad_y, pad_x = (-height) % core, (-width) % core
        padded = np.pad(frame, ((MARGIN, MARGIN + pad_y), (MARGIN, MARGIN + pad_x), (0, 0)), mode="reflect")
        out = np.empty((height * k, width * k, 3), np.uint8)
        for y in range(0, height, core):
            for x in range(0, width, core):
                up = self._run(padded[y : y + self.window, x : x + self.window])
                h, w = min(core, height - y), min(core, width - x)
                out[y * k : (y + h) * k, x * k : (x + w) * k] = up[
                    MARGIN * k : (MARGIN + h) * k, MARGIN * k : (MARGIN + w) * k
                ]
        return out

    def close(self) -> None:
        release_models(self, "_session")


class FrameEnhancer:
    """A frame processor: every frame upscaled by ``upscaler``, mixed with its bicubic up-scaling."""

    def __init__(self, name: str, upscaler: OnnxUpscaler, blend: float) -> None:
        self.name = name
        self.upscaler = upscaler
        self.blend = blend
        self.scale = upscaler.scale

    def process(self, frames: Sequence[np.ndarray]) -> list[np.ndarray]:
        out = []
        for frame in frames:
            up = self.upscaler.upscale(frame)
            if self.blend < 1.0:
                size = (up.shape[1], up.shape[0])
                plain = cv2.resize(frame, size, interpolation=cv2.INTER_CUBIC)
                up = cv2.addWeighted(up, self.blend, plain, 1.0 - self.blend, 0.0)
            out.append(up)
        return out

    def close(self) -> None:
        self.upscaler.close()
