"""ArcFace recognisers in ONNX (InsightFace's w600k_r50 and its kin): the identity ONNX swappers are
conditioned on.

The face is aligned on ArcFace's standard 112-px template (``arcface_112_v2``) from its FaceMesh anchor
points; pixels go in as RGB ``pixel / 127.5 - 1``, NCHW. The output is the raw embedding: callers
normalise it (or not) as their swapper expects.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from faceforge.errors import WeightsError
from faceforge.geometry.alignment import TEMPLATES, align_face
from faceforge.types import Face
from faceforge.weights.onnx_session import create_session, describe_io, run_batch

CROP_SIZE = 112


class ArcFaceOnnx:
    """An ONNX recogniser taking ``[N, 3, 112, 112]`` and returning ``[N, D]`` embeddings."""

    template = TEMPLATES["arcface_112_v2"]

    def __init__(self, path: Path, device: str = "auto") -> None:
        self.path = Path(path)
        self._session = create_session(self.path, device)
        io = describe_io(self._session)
        image = io.inputs[0] if len(io.inputs) == 1 else None
        if (
            image is None
            or len(image.shape) != 4
            or any(image.dim(axis) not in (None, size) for axis, size in ((1, 3), (2, 112), (3, 112)))
            or len(io.outputs[0].shape) != 2
        ):
            raise WeightsError(
                f"{self.path} is not an ArcFace recogniser: it declares {io.summary()}, and faceforge needs "
                "one input [N,3,112,112] and an [N,D] embedding out."
            )
        self._input = image
        self._output = io.outputs[0].name
        self.dimensions = io.outputs[0].dim(1)  # None when the graph leaves it open
        self._batched = image.dim(0) is None

    def crops(self, image: np.ndarray, faces: list[Face]) -> np.ndarray:
        """``(N, 112, 112, 3)`` uint8 RGB crops of the faces on the ArcFace template."""
        crops = [align_face(image, face, self.template, CROP_SIZE).image for face in faces]
        return np.stack(crops) if crops else np.zeros((0, CROP_SIZE, CROP_SIZE, 3), dtype=np.uint8)

    def embed_crops(self, crops: np.ndarray) -> np.ndarray:
        """Raw ``(N, D)`` float32 embeddings of aligned ``(N, 112, 112, 3)`` uint8 RGB crops."""
        if len(crops) == 0:
            return np.zeros((0, self.dimensions or 0), dtype=np.float32)
        pixels = crops.astype(np.float32).transpose(0, 3, 1, 2) / 127.5 - 1.0
        feeds = {self._input.name: pixels.astype(self._input.dtype)}
        return run_batch(self._session, self._output, feeds, self._batched).astype(np.float32)
