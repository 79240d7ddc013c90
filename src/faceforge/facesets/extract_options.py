"""What an extraction is asked to do (:class:`ExtractOptions`) and what it did (:class:`ExtractReport`)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from faceforge.analysis.identity import SAME_PERSON
from faceforge.errors import OptionError
from faceforge.geometry.alignment import TEMPLATES

IMAGE_FORMATS = ("jpg", "png")
STAGES = ("decode", "analyse", "align", "identity", "write", "index")


@dataclass(frozen=True, slots=True)
class ExtractOptions:
    """``size``, ``template``, ``image_format`` are fixed for a whole faceset (a trainer needs one crop
    geometry); the rest may differ per source. ``every``: take every Nth video frame. ``min_size``: least
    face size in source pixels. ``min_sharpness``: see :mod:`faceforge.facesets.measure`. ``max_yaw`` /
    ``max_pitch``: largest absolute head angles in degrees. ``reference_threshold``: identity distance
    under which a face counts as the reference person. ``detect_every``: sampled frames between detector
    key frames (faces are followed in between). ``chunk``: sampled frames per committed batch.
    ``identity_every``: a followed face's identity is computed on its track's first face that passes the
    filters in each chunk and then on every Nth such face of the track; the faces between carry that
    embedding (``identity_frame`` says which frame it came from). The tracker guarantees they show the same
    face; 1 embeds every face."""

    size: int = 256
    template: str = "full-face"
    image_format: str = "jpg"
    jpeg_quality: int = 95
    every: int = 1
    min_size: float = 0.0
    min_sharpness: float = 0.0
    max_yaw: float | None = None
    max_pitch: float | None = None
    reference_threshold: float = SAME_PERSON
    detect_every: int = 10
    chunk: int = 128
    identity_every: int = 8
    max_faces: int = 100  # faces kept per frame, largest first; a crowd beyond it is counted, not kept

    def validate(self) -> None:
        if self.template not in TEMPLATES:
            raise OptionError(f"Unknown template '{self.template}'; choose one of: {', '.join(TEMPLATES)}.")
        if self.image_format not in IMAGE_FORMATS:
            raise OptionError(f"--format must be one of {', '.join(IMAGE_FORMATS)}.")
        if not 32 <= self.size <= 2048:
            raise OptionError("--size must be between 32 and 2048 pixels.")
        if min(self.every, self.detect_every, self.chunk, self.identity_every, self.max_faces) < 1:
            raise OptionError(
                "--every, --identity-every, --max-faces, detect_every and chunk must be at least 1."
            )

    def faceset_info(self, identity: str) -> dict[str, str]:
        return {
            "size": str(self.size),
            "template": self.template,
            "image_format": self.image_format,
            "identity": identity,
        }

    def source_options(self, reference: str | None) -> dict[str, object]:
        fields = asdict(self)
        for key in ("size", "template", "image_format"):
            fields.pop(key)
        return {**fields, "reference": reference}


@dataclass(slots=True)
class ExtractReport:
    faces_added: int = 0
    frames_analysed: int = 0
    sources_done: int = 0
    sources_skipped: int = 0
    rejected: Counter = field(default_factory=Counter)  # reason -> faces
    failed: list[tuple[Path, str]] = field(default_factory=list)  # inputs skipped, with the sentence why
    warnings: list[str] = field(default_factory=list)  # e.g. a truncated video, extracted as far as it goes
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] += time.perf_counter() - start
