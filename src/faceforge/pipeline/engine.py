"""The per-frame swap: align the chosen faces, swap them in batches, run the face processors, compose the
results back, run the frame processors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from faceforge.compose.compositor import Compositor
from faceforge.geometry.alignment import align_face
from faceforge.pipeline.selection import Assignment
from faceforge.processors.chain import ProcessorChain
from faceforge.swappers.base import Swapper
from faceforge.types import AlignedFace, SwapResult


@dataclass(frozen=True, slots=True)
class RenderedFrame:
    """One output frame and what happened to the faces chosen in it."""

    image: np.ndarray
    faces_swapped: int
    faces_declined: int  # faces the swapper would not swap well (SwapResult.declined): left as they are


@dataclass(frozen=True, slots=True)
class SwappedBatch:
    """A batch between :meth:`SwapEngine.swap` and :meth:`SwapEngine.compose`: the frames, each accepted
    swap as ``(frame index, aligned target crop, result)``, and the count of declined faces per frame."""

    frames: list[np.ndarray]
    swapped: list[tuple[int, AlignedFace, SwapResult]]
    declined: list[int]


class SwapEngine:
    """Applies a swapper with prepared sources, then the processor chain, to frames, given which faces
    to replace. Holds no per-video state of its own; not thread-safe (one caller thread at a time)."""

    def __init__(
        self,
        swapper: Swapper,
        prepared_sources: Sequence[object],
        compositor: Compositor,
        processors: ProcessorChain,
    ) -> None:
        self.swapper = swapper
        self.prepared = list(prepared_sources)
        self.compositor = compositor
        self.processors = processors

    def apply(
        self, frames: Sequence[np.ndarray], assignments: Sequence[Sequence[Assignment]]
    ) -> list[RenderedFrame]:
        """Swapped copies of ``frames``; ``assignments[i]`` are the faces to replace in frame ``i``."""
        return self.compose(self.swap(frames, assignments))

    def swap(self, frames: Sequence[np.ndarray], assignments: Sequence[Sequence[Assignment]]) -> SwappedBatch:
        """The first half of :meth:`apply`: align the chosen faces and swap them.

        All crops of the batch that share a source go to the swapper in one call. The video run calls
        this in its analysis thread and :meth:`compose` in its render thread, so the two halves overlap.
        """
        crops: list[tuple[int, AlignedFace, int]] = [
            (i, align_face(frame, a.face, self.swapper.template, self.swapper.crop_size), a.source)
            for i, (frame, chosen) in enumerate(zip(frames, assignments, strict=True))
            for a in chosen
        ]
        swapped: list[tuple[int, AlignedFace, SwapResult]] = []
        declined = [0] * len(frames)
        for source in sorted({c[2] for c in crops}):
            group = [c for c in crops if c[2] == source]
            results = self.swapper.swap([c[1] for c in group], self.prepared[source])
            for (index, aligned, _), result in zip(group, results, strict=True):
                if result.declined is None:
                    swapped.append((index, aligned, result))
                else:
                    declined[index] += 1
        return SwappedBatch(list(frames), swapped, declined)

    def compose(self, batch: SwappedBatch) -> list[RenderedFrame]:
        """The second half of :meth:`apply`: every accepted crop of the batch through the face processors
        in one call, composed back into its frame in order, then the frame processors.

        The compositor keeps per-track state, so batches must be composed in the order they were swapped.
        """
        swapped = batch.swapped
        images = self.processors.process_faces([s[1] for s in swapped], [s[2].image for s in swapped])
        outputs = list(batch.frames)
        counts = [0] * len(outputs)
        for (index, aligned, result), image in zip(swapped, images, strict=True):
            outputs[index] = self.compositor.compose(
                outputs[index], aligned, image, result.mask, result.surroundings
            )
            counts[index] += 1
        outputs = self.processors.process_frames(outputs)
        return [
            RenderedFrame(image, swapped_count, declined_count)
            for image, swapped_count, declined_count in zip(outputs, counts, batch.declined, strict=True)
        ]
