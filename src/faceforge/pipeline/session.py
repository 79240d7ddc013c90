"""A swap session: the analyser, the swapper with its prepared sources, and the face selector."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from faceforge.analysis.analyser import FaceAnalyser
from faceforge.config import SwapConfig
from faceforge.media.images import read_image
from faceforge.pipeline.engine import SwapEngine
from faceforge.pipeline.selection import Assignment, FaceSelector
from faceforge.pipeline.sources import load_identity, main_face
from faceforge.swappers.base import Swapper
from faceforge.swappers.registry import create_swapper
from faceforge.types import Face, SourceIdentity

Photo = Path | np.ndarray


class SwapSession:
    """Loads everything one run needs once, then swaps any number of images and videos.

    ``sources`` holds one list of photos per source person. ``references`` (optional) holds one photo
    per source of the person in the targets that this source replaces; giving references switches
    selection to reference mode. ``swapper`` (optional) is a ready swapper instance (a trained model)
    used instead of ``config.swapper``; one whose ``needs_source`` is false takes no source photos.
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
        if sourceless and sources:
            raise ValueError(
                f"The {swapper.name} swapper puts in its own trained face; give no source photo."
            )
        if not sources and not sourceless:
            raise ValueError("At least one source person is needed.")
        people = max(1, len(sources))
        if references is not None and len(references) != people:
            raise ValueError("Give exactly one reference photo per source person.")
        selection = self.config.selection
        if references is None and selection.mode == "reference":
            raise ValueError("Reference selection needs a reference photo.")
        if references is None and people > 1:
            raise ValueError(
                "Several source people need one reference photo each, to know who replaces whom."
            )
        self.analyser = FaceAnalyser(self.config.analysis)
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
                    assert face.embedding is not None
                    reference_vectors.append(face.embedding)
            self.selector = FaceSelector(selection, reference_vectors, self.analyser.identity.distance)
            self.swapper = (
                swapper if swapper is not None else create_swapper(self.config.swapper, self.config.neural)
            )
            if sourceless:
                prepared = [self.swapper.prepare_source(None)]  # type: ignore[arg-type]
            else:
                prepared = [self.swapper.prepare_source(identity) for identity in self.identities]
            self.engine = SwapEngine(self.swapper, prepared, self.config.compose, self.config.watermark)
        except BaseException:
            self.analyser.close()
            raise

    def __enter__(self) -> SwapSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.analyser.close()

    def assign(self, image: np.ndarray, faces: list[Face]) -> list[Assignment]:
        """Selection for a still image (identity computed here when the mode needs it)."""
        if self.selector.needs_identity:
            faces = self.analyser.embed(image, faces)
        return self.selector.select(faces)

    def swap_image(self, image: np.ndarray) -> tuple[np.ndarray, int]:
        """The swapped image and the number of faces replaced."""
        assignments = self.assign(image, self.analyser.faces(image))
        if not assignments:
            return image, 0
        return self.engine.apply([image], [assignments])[0], len(assignments)


def _label(photo: Photo) -> str:
    return str(photo) if not isinstance(photo, np.ndarray) else "(array)"
