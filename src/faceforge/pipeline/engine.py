"""The per-frame swap: align the chosen faces, run the swapper on a batch, compose the results back."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from faceforge.compose.compositor import ComposeOptions, compose
from faceforge.geometry.alignment import align_face
from faceforge.media.watermark import add_watermark
from faceforge.pipeline.selection import Assignment
from faceforge.swappers.base import Swapper
from faceforge.types import AlignedFace


class SwapEngine:
    """Applies a swapper with prepared sources to frames, given which faces to replace."""

    def __init__(
        self,
        swapper: Swapper,
        prepared_sources: Sequence[object],
        compose_options: ComposeOptions,
        watermark: bool = False,
    ) -> None:
        self.swapper = swapper
        self.prepared = list(prepared_sources)
        self.compose_options = compose_options
        self.watermark = watermark

    def apply(
        self, frames: Sequence[np.ndarray], assignments: Sequence[Sequence[Assignment]]
    ) -> list[np.ndarray]:
        """Swapped copies of ``frames``; ``assignments[i]`` are the faces to replace in frame ``i``.

        All crops of the batch that share a source go to the swapper in one call.
        """
        crops: list[tuple[int, AlignedFace, int]] = [
            (i, align_face(frame, a.face, self.swapper.template, self.swapper.crop_size), a.source)
            for i, (frame, chosen) in enumerate(zip(frames, assignments, strict=True))
            for a in chosen
        ]
        outputs = list(frames)
        for source in sorted({c[2] for c in crops}):
            group = [c for c in crops if c[2] == source]
            results = self.swapper.swap([c[1] for c in group], self.prepared[source])
            for (index, aligned, _), result in zip(group, results, strict=True):
                outputs[index] = compose(
                    outputs[index], aligned, result.image, self.compose_options, result.mask
                )
        if self.watermark:
            outputs = [add_watermark(frame) for frame in outputs]
        return outputs
