"""The processor contracts: a face stage after the swap, a frame stage after compose.

A **face processor** works in the swapper's aligned crop space on a batch: it receives the aligned
targets and the swapped crops of every face of a batch of frames (all crops share one size) and returns
one crop per input, same shape, ``uint8`` RGB. Face restorers and enhancers (GFPGAN-like nets) are face
processors: they see the whole face at a known alignment and batch well.

A **frame processor** works on a batch of composed frames and returns one frame per input, ``uint8`` RGB,
of the input's shape, or ``scale`` times its height and width when it declares an integer ``scale``
attribute (an upscaler; the video writer is opened at the chain's output size). The watermark is one; it
runs last.

Both may hold models loaded once (``close()`` releases them). They are called from one thread at a
time (the video path's swap thread), batch after batch in frame order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from faceforge.types import AlignedFace


class FaceProcessor(Protocol):
    name: str

    def process(self, faces: Sequence[AlignedFace], crops: Sequence[np.ndarray]) -> list[np.ndarray]:
        """``crops[i]`` is the swapped crop of ``faces[i]``; returns the processed crops."""
        ...

    def close(self) -> None: ...


class FrameProcessor(Protocol):
    name: str

    def process(self, frames: Sequence[np.ndarray]) -> list[np.ndarray]: ...

    def close(self) -> None: ...


def check_outputs(
    name: str, inputs: Sequence[np.ndarray], outputs: Sequence[np.ndarray], scale: int = 1
) -> list[np.ndarray]:
    """A processor's outputs, refused in one sentence unless there is one ``uint8`` array of the input's
    shape (height and width times ``scale``) per input (a plug-in's mistake must not surface as a codec
    error frames later)."""
    outputs = list(outputs)
    if len(outputs) != len(inputs):
        raise ValueError(f"The processor '{name}' returned {len(outputs)} images for {len(inputs)}.")
    for before, after in zip(inputs, outputs, strict=True):
        expected = (before.shape[0] * scale, before.shape[1] * scale, *before.shape[2:])
        if after.dtype != np.uint8 or after.shape != expected:
            raise ValueError(
                f"The processor '{name}' returned a {after.dtype} {after.shape} image for a uint8 "
                f"{before.shape} one" + (f" upscaled {scale} times." if scale != 1 else ".")
            )
    return outputs
