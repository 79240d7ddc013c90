"""The enhancers of a run, built from its ``--enhance`` steps."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from faceforge.enhance.face import FaceEnhancer, FaceModel
from faceforge.enhance.frame import FrameEnhancer, OnnxUpscaler
from faceforge.enhance.guard import IdentityGuard
from faceforge.enhance.options import EnhanceOptions, EnhanceStep


def face_model(step: EnhanceStep, options: EnhanceOptions) -> FaceModel:
    """A restorer model folder (``faceforge train-restorer``) or an ONNX face enhancer (file or name)."""
    if Path(step.model).expanduser().is_dir():
        from faceforge.enhance.restorer import RestorerModel

        return RestorerModel(Path(step.model).expanduser(), options.device)
    from faceforge.enhance.onnx_face import OnnxFaceModel

    return OnnxFaceModel(step.model, options.fidelity, options.device)


def build_enhancers(options: EnhanceOptions) -> Iterator[tuple[EnhanceStep, FaceEnhancer | FrameEnhancer]]:
    """Each step with its enhancer, in order; the face enhancers share one identity guard (one identity
    network) unless ``options.identity_threshold`` is 0. The caller closes what it receives."""
    guard: IdentityGuard | None = None
    for step in options.parsed_steps():
        if step.stage == "frame":
            yield (
                step,
                FrameEnhancer(step.label, OnnxUpscaler(step.model, options.tile, options.device), step.blend),
            )
            continue
        if guard is None and options.identity_threshold > 0:
            from faceforge.analysis.identity import create_identity_encoder

            guard = IdentityGuard(create_identity_encoder(), options.identity_threshold)  # type: ignore[arg-type]
        yield step, FaceEnhancer(step.label, face_model(step, options), step.blend, guard)
