"""Published face restoration networks exported to ONNX, fed the way facefusion feeds the same files.

Every family takes one ``input`` ``[B, 3, S, S]`` float32 RGB in [-1, 1] (``rgb / 255 * 2 - 1``) and
returns ``[B, 3, S, S]`` in [-1, 1] (clipped, then ``(x + 1) / 2 * 255``, rounded). They differ in the
alignment and the size of the crop, and CodeFormer takes a second input, ``weight``: its fidelity weight
(a float64 of shape ``[1]``; 0 restores most, 1 keeps the input most).

============================  ============  ======  =================
family                        template      size    extra input
============================  ============  ======  =================
gfpgan (GFPGAN 1.4)           ffhq_512      512
codeformer                    ffhq_512      512     weight (fidelity)
gpen-bfr-256                  arcface_128   256
gpen-bfr-512                  ffhq_512      512
restoreformer++               ffhq_512      512
============================  ============  ======  =================

The family comes from the weights catalog when the file is known there, else from what the graph
declares: a ``weight`` input means CodeFormer, a 256-px input GPEN-BFR 256, a 512-px one the FFHQ-512
convention that GFPGAN, GPEN-BFR 512 and RestoreFormer++ share.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceforge.errors import WeightsError
from faceforge.geometry.alignment import TEMPLATES, Template
from faceforge.swappers.base import release_models
from faceforge.weights import find_entry, resolve_weights
from faceforge.weights.onnx_session import TensorSpec, create_session, describe_io, run_batch

# FFHQ's 512-px alignment (facefusion's "ffhq_512"): subject's right eye, left eye, nose tip, right and
# left mouth corner, as shares of the crop side.
FFHQ_512 = Template(
    "ffhq_512",
    np.array(
        [
            [0.37691676, 0.46864664],
            [0.62285697, 0.46912813],
            [0.50123859, 0.61331904],
            [0.39308822, 0.72541100],
            [0.61150205, 0.72490465],
        ]
    ),
)


@dataclass(frozen=True, slots=True)
class EnhancerFamily:
    name: str
    template: Template
    size: int
    fidelity_input: bool = False  # CodeFormer's ``weight``


FAMILIES: dict[str, EnhancerFamily] = {
    family.name: family
    for family in (
        EnhancerFamily("gfpgan", FFHQ_512, 512),
        EnhancerFamily("codeformer", FFHQ_512, 512, fidelity_input=True),
        EnhancerFamily("gpen-bfr-256", TEMPLATES["arcface_128"], 256),
        EnhancerFamily("gpen-bfr-512", FFHQ_512, 512),
        EnhancerFamily("restoreformer++", FFHQ_512, 512),
    )
}


def family_from_graph(image: TensorSpec, weight: TensorSpec | None, path: Path) -> EnhancerFamily:
    """The family of a file the catalog does not know, from its declared inputs."""
    side = image.dim(2)
    if weight is not None:
        return FAMILIES["codeformer"]
    if side == 256:
        return FAMILIES["gpen-bfr-256"]
    if side == 512:
        return FAMILIES["gfpgan"]
    raise WeightsError(
        f"{path} takes {side or 'any'}-px faces; the face enhancers faceforge knows take 256 or 512 px."
    )


class OnnxFaceModel:
    """A :class:`~faceforge.enhance.face.FaceModel` running one of :data:`FAMILIES` in onnxruntime."""

    def __init__(self, weights: str, fidelity: float = 0.5, device: str = "auto") -> None:
        entry = find_entry(weights)
        if entry is not None and entry.kind != "onnx-face-enhancer":
            raise WeightsError(f"The weights '{weights}' are a {entry.kind}, not an ONNX face enhancer.")
        self.path = resolve_weights(weights)
        self._session = create_session(self.path, device)
        io = describe_io(self._session)
        image, weight = io.input("input"), io.input("weight")
        if (
            image is None
            or len(io.inputs) != 1 + (weight is not None)
            or len(image.shape) != 4
            or image.dim(1) not in (None, 3)
            or image.dim(2) != image.dim(3)
            or len(io.outputs[0].shape) != 4
        ):
            raise WeightsError(
                f"{self.path} is not a face enhancer faceforge can run: it declares {io.summary()}, and "
                "faceforge needs input[B,3,S,S] (and CodeFormer's weight[1]) and a [B,3,S,S] output."
            )
        if entry is not None and entry.family is not None:
            self.family = FAMILIES[entry.family]
        else:
            self.family = family_from_graph(image, weight, self.path)
        if image.dim(2) not in (None, self.family.size):
            raise WeightsError(
                f"{self.path} takes {image.dim(2)}-px faces, but {self.family.name} takes "
                f"{self.family.size}-px ones."
            )
        if self.family.fidelity_input and weight is None:
            raise WeightsError(f"{self.path} has no 'weight' input, which {self.family.name} models take.")
        self.template = self.family.template
        self.size = self.family.size
        self._image = image
        self._output = io.outputs[0].name
        self._batched = image.dim(0) is None
        self._weight: tuple[str, np.ndarray] | None = None
        if weight is not None:
            shape = tuple(1 for _ in weight.shape)
            self._weight = (weight.name, np.full(shape, fidelity, dtype=weight.dtype))

    def restore(self, crops: np.ndarray) -> np.ndarray:
        pixels = (crops.astype(np.float32) / 127.5 - 1.0).transpose(0, 3, 1, 2).astype(self._image.dtype)
        if self._weight is None:
            output = run_batch(self._session, self._output, {self._image.name: pixels}, self._batched)
        else:  # the fidelity weight has no batch axis: one face per run
            name, value = self._weight
            output = np.concatenate(
                [
                    self._session.run([self._output], {self._image.name: pixels[i : i + 1], name: value})[0]
                    for i in range(len(pixels))
                ]
            )
        output = (np.clip(output.astype(np.float32), -1.0, 1.0) + 1.0) * 127.5
        return np.round(output).astype(np.uint8).transpose(0, 2, 3, 1).copy()

    def close(self) -> None:
        release_models(self, "_session")
