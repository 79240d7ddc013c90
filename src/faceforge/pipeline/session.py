"""A swap session: the analyser, the swapper with its prepared sources, the face selector and the
processor chain, loaded once for any number of images and videos."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from faceforge.analysis.analyser import FaceAnalyser
from faceforge.analysis.sources import load_identity, main_face
from faceforge.compose.compositor import Compositor
from faceforge.config import SwapConfig
from faceforge.errors import NoFaceError, OptionError
from faceforge.media.images import read_image
from faceforge.pipeline.engine import RenderedFrame, SwapEngine
from faceforge.pipeline.provenance import swap_tag
from faceforge.pipeline.selection import Assignment, FaceSelector
from faceforge.pipeline.stream import preview_frame
from faceforge.processors.chain import ProcessorChain
from faceforge.swappers.base import Swapper
from faceforge.types import Face, SourceIdentity

Photo = Path | np.ndarray


class SwapSession:
    """Loads everything one run needs once, then swaps any number of images and videos.

    ``sources`` holds one list of photos per source person. ``references`` (optional) holds one photo
    per source of the person in the targets that this source replaces; giving references switches
    selection to reference mode. ``swapper`` (optional) is a ready swapper instance (a trained model)
    used instead of ``config.swapper``; one whose ``needs_source`` is false takes no source photos.

    :meth:`close` (or the context manager) closes what the session opened: the analyser, the swapper
    it built (not one passed in: its caller owns it) and the processors. Not thread-safe: one session per
    thread (see docs/architecture.md).
    """

    def __init__(
        self,
        sources: Sequence[Sequence[Photo]],
        config: SwapConfig | None = None,
        references: Sequence[Photo] | None = None,
        swapper: Swapper | None = None,
    ) -> None:
        self.config = config or SwapConfig()
        if swapper is not None:
            self.config = replace(self.config, swapper=swapper.name)
        sourceless = swapper is not None and not swapper.needs_source
        if swapper is not None and sourceless and sources:
            raise OptionError(
                f"The {swapper.name} swapper puts in its own trained face; give no source photo."
            )
        if not sources and not sourceless:
            raise OptionError("At least one source person is needed.")
        people = max(1, len(sources))
        if references is not None and len(references) != people:
            raise OptionError("Give exactly one reference photo per source person.")
        selection = self.config.selection
        if references is None and selection.mode == "reference":
            raise OptionError("Reference selection needs a reference photo.")
        if references is None and people > 1:
            raise OptionError(
                "Several source people need one reference photo each, to know who replaces whom."
            )
        self.analyser = FaceAnalyser(self.config.analysis)
        self._owned_swapper: Swapper | None = None
        self.processors = ProcessorChain(())
        self.compositor = Compositor(self.config.compose)
        try:
            self.identities: list[SourceIdentity] = [
                load_identity(self.analyser, photos, name=f"source {i + 1}" if len(sources) > 1 else "source")
                for i, photos in enumerate(sources)
            ]
            reference_vectors: list[np.ndarray] = []
            if references is not None:
                selection = replace(selection, mode="reference")
                for photo in references:
                    image = photo if isinstance(photo, np.ndarray) else read_image(Path(photo))
                    face = main_face(self.analyser, image, f"the reference photo {_label(photo)}")
                    if face.embedding is None:
                        raise NoFaceError(f"No identity could be computed for {_label(photo)}.")
                    reference_vectors.append(face.embedding)
            self.selector = FaceSelector(
                selection,
                reference_vectors,
                self.analyser.identity.distance,
                self.analyser.embed,
                self.config.video.reverify_every,
                self.analyser.identity.threshold,
            )
            if swapper is None:
                swapper = self._owned_swapper = self.config.create_swapper()
            self.swapper = swapper
            if sourceless:
                prepared = [self.swapper.prepare_source(None)]  # type: ignore[arg-type]
            else:
                prepared = [self.swapper.prepare_source(identity) for identity in self.identities]
            self.processors = ProcessorChain(
                self._processor_names(), self.config.processor_options, enhance=self.config.enhance
            )
            self.engine = SwapEngine(self.swapper, prepared, self.compositor, self.processors)
        except BaseException:
            self.close()
            raise

    def _processor_names(self) -> list[str]:
        names = list(self.config.processors)
        if self.config.watermark and "watermark" not in names:
            names.append("watermark")
        return names

    def __enter__(self) -> SwapSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close what the session opened; safe to call more than once."""
        self.processors.close()
        self.compositor.close()
        if self._owned_swapper is not None:
            swapper, self._owned_swapper = self._owned_swapper, None
            swapper.close()
        self.analyser.close()

    def assign(self, image: np.ndarray, faces: list[Face]) -> list[Assignment]:
        """Selection for a still image: the faces are untracked, so nothing is remembered between stills."""
        return self.selector.select(faces, image)

    def render_image(self, image: np.ndarray) -> RenderedFrame:
        """The swapped image, with how many faces were swapped and declined."""
        assignments = self.assign(image, self.analyser.faces(image))
        if not assignments:
            return RenderedFrame(image, 0, 0)
        return self.engine.apply([image], [assignments])[0]

    def tag(self, rendered: RenderedFrame | None = None) -> dict[str, Any]:
        """The provenance tag of this session's outputs (with the face counts of a rendered image)."""
        return swap_tag(
            self.config.swapper,
            rendered.faces_swapped if rendered is not None else None,
            self.processors.names,
            rendered.faces_declined if rendered is not None else None,
        )

    def swap_image(self, image: np.ndarray) -> tuple[np.ndarray, int]:
        """The swapped image and the number of faces replaced."""
        rendered = self.render_image(image)
        return rendered.image, rendered.faces_swapped

    def preview_frame(self, video: Path, index: int) -> RenderedFrame:
        """Frame ``index`` of ``video`` exactly as a video run renders it (see
        :func:`faceforge.pipeline.stream.preview_frame`)."""
        return preview_frame(self, video, index)


def _label(photo: Photo) -> str:
    return str(photo) if not isinstance(photo, np.ndarray) else "(array)"
