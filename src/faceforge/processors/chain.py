"""The ordered processors of one session: face processors after the swap, frame processors after compose."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import cast

import numpy as np

from faceforge.enhance.options import EnhanceOptions
from faceforge.processors.base import FaceProcessor, FrameProcessor, check_outputs
from faceforge.processors.registry import create_processor, processor_entry
from faceforge.types import AlignedFace


class ProcessorChain:
    """Processors built once from their names, run in the order named within each stage.

    ``options`` maps a processor name to its options object (defaults for names not in it). ``enhance``
    (the ``--enhance`` steps) adds enhancers, in their order, before the named processors of their stage
    (so the watermark still runs last). The chain owns what it built: :meth:`close` closes each
    processor once.
    """

    def __init__(
        self,
        names: Sequence[str] = (),
        options: Mapping[str, object] | None = None,
        enhance: EnhanceOptions | None = None,
    ) -> None:
        if len(set(names)) != len(names):
            raise ValueError(f"A processor is named twice in {', '.join(names)}.")
        self.face: list[FaceProcessor] = []
        self.frame: list[FrameProcessor] = []
        labels: list[str] = []
        try:
            if enhance is not None and enhance.steps:
                from faceforge.enhance.build import build_enhancers

                for step, enhancer in build_enhancers(enhance):
                    labels.append(step.label)
                    if step.stage == "face":
                        self.face.append(cast(FaceProcessor, enhancer))
                    else:
                        self.frame.append(cast(FrameProcessor, enhancer))
            for name in names:
                processor = create_processor(name, (options or {}).get(name))
                if processor_entry(name).stage == "face":
                    self.face.append(cast(FaceProcessor, processor))
                else:
                    self.frame.append(cast(FrameProcessor, processor))
        except BaseException:
            self.close()
            raise
        self.names = (*labels, *names)

    @property
    def scale(self) -> int:
        """How many times larger (height and width) the frame processors make a frame."""
        factor = 1
        for processor in self.frame:
            factor *= int(getattr(processor, "scale", 1))
        return factor

    def process_faces(self, faces: Sequence[AlignedFace], crops: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The swapped ``crops`` of ``faces`` through every face processor."""
        out = list(crops)
        for processor in self.face:
            if out:
                out = check_outputs(processor.name, out, processor.process(faces, out))
        return out

    def process_frames(self, frames: Sequence[np.ndarray]) -> list[np.ndarray]:
        out = list(frames)
        for processor in self.frame:
            scale = int(getattr(processor, "scale", 1))
            out = check_outputs(processor.name, out, processor.process(out), scale)
        return out

    def close(self) -> None:
        processors: list[FaceProcessor | FrameProcessor] = [*self.face, *self.frame]
        self.face, self.frame = [], []
        for processor in processors:
            processor.close()
