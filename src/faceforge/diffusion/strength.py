"""``--strength auto``: inpaint at each of a few strengths and keep the candidate whose face is closest
to the source's identity among those that still pass a semantic check: a face is found in it and its
head pose is within ``max_pose_change`` degrees of the target's. Every candidate's scores are kept so
the run can report them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from faceforge.analysis.analyser import FaceAnalyser
from faceforge.geometry.pose import head_pose


@dataclass(frozen=True, slots=True)
class Candidate:
    """One strength's output and its scores (distance None when no face was found)."""

    strength: float
    image: np.ndarray
    identity_distance: float | None
    pose_change: float | None
    passed: bool

    def summary(self) -> str:
        if self.identity_distance is None or self.pose_change is None:
            return f"{self.strength:g}: no face"
        verdict = "ok" if self.passed else "pose moved"
        scores = f"identity {self.identity_distance:.3f}, pose {self.pose_change:.1f} deg"
        return f"{self.strength:g}: {scores} ({verdict})"


@dataclass(frozen=True, slots=True)
class StrengthChoice:
    """The candidates in the order tried and the one kept (None when none passed)."""

    candidates: tuple[Candidate, ...]
    chosen: Candidate | None

    def summary(self) -> str:
        kept = "none passed" if self.chosen is None else f"kept {self.chosen.strength:g}"
        return "; ".join(c.summary() for c in self.candidates) + f" -> {kept}"


class CandidateJudge:
    """Scores a candidate crop against the source identity and the target's landmarks with the real
    analyser (face found, FaceMesh head pose) and its identity encoder."""

    def __init__(self, analyser: FaceAnalyser, max_pose_change: float) -> None:
        self.analyser = analyser
        self.max_pose_change = max_pose_change

    def __call__(
        self, strength: float, image: np.ndarray, source: np.ndarray, target_landmarks: np.ndarray
    ) -> Candidate:
        faces = self.analyser.faces(image)
        if not faces:
            return Candidate(strength, image, None, None, passed=False)
        face = self.analyser.embed(image, faces[:1])[0]
        encoder = self.analyser.identity
        distance = float(
            np.asarray(encoder.distance(np.asarray(face.embedding)[None], source[None])).ravel()[0]
        )
        # Yaw and pitch (both within +-90 degrees, so a plain difference).
        change = float(np.abs(head_pose(face.landmarks) - head_pose(target_landmarks))[:2].max())
        return Candidate(strength, image, distance, change, passed=change <= self.max_pose_change)


def search_strength(
    strengths: Sequence[float],
    render: Callable[[float], np.ndarray],
    judge: Callable[[float, np.ndarray], Candidate],
) -> StrengthChoice:
    """Render and judge every strength; keep the passing candidate with the smallest identity distance."""
    candidates = tuple(judge(strength, render(strength)) for strength in strengths)
    passing = [c for c in candidates if c.passed and c.identity_distance is not None]
    chosen = min(passing, key=lambda c: c.identity_distance or 0.0) if passing else None
    return StrengthChoice(candidates, chosen)
