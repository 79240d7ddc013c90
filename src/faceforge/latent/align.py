"""FFHQ alignment: the oriented square of the FFHQ dataset script, from FaceMesh landmarks.

The script reads dlib's 68 points; only the eyes (36-47) and the outer mouth corners (48, 54) enter its
geometry, and :data:`MESH_FOR_68` gives the FaceMesh point at each of those positions. The square is
centred a tenth of the eye-to-mouth vector below the eyes, oriented between the eye line and the
perpendicular of the eye-mouth line, and sized max(4·|eye to eye|, 3.6·|eye to mouth|) (section 4 of
``reference/STYLEGAN2_E4E_INTERFACE.md``).

Differences from the script, all in the resampling: the square is mapped by one affine warp (it is a
similarity, so the script's QUAD warp is the same map) with bilinear sampling after the script's integer
antialiasing shrink, instead of a 4096-px Lanczos supersample; the reflect padding with blur and median
fade is the script's. The frame-to-crop matrix is kept so results can be pasted back.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from faceforge.errors import InputError
from faceforge.geometry.alignment import transform_landmarks
from faceforge.types import AlignedFace, Face

# dlib 68-point index -> FaceMesh index, for the points FFHQ alignment uses. Eyes: outer corner, two upper
# lid points, inner corner, two lower lid points, subject's right eye (36-41) then left eye (42-47).
MESH_FOR_68 = {
    36: 33, 37: 160, 38: 158, 39: 133, 40: 153, 41: 144,
    42: 362, 43: 385, 44: 387, 45: 263, 46: 373, 47: 380,
    48: 61, 54: 291,
}  # fmt: skip
SIZES = (256, 512, 1024)
MIN_QUAD = 64  # px: a face smaller than this in the photo is refused rather than blown up into mush


@dataclass(frozen=True, slots=True)
class FfhqGeometry:
    eye_left: np.ndarray  # mean of points 36-41 (the subject's right eye, image left)
    eye_right: np.ndarray  # mean of points 42-47
    mouth: np.ndarray  # midpoint of 48 and 54
    quad: np.ndarray  # (4, 2): top-left, bottom-left, bottom-right, top-right, frame pixels

    @property
    def side(self) -> float:
        """The square's side in frame pixels (the script's qsize)."""
        return float(np.hypot(*(self.quad[3] - self.quad[0])))


def ffhq_geometry(face: Face) -> FfhqGeometry:
    """The FFHQ square of a face, from its FaceMesh points."""
    points = face.points.astype(np.float64)
    eye_left = points[[MESH_FOR_68[i] for i in range(36, 42)]].mean(axis=0)
    eye_right = points[[MESH_FOR_68[i] for i in range(42, 48)]].mean(axis=0)
    mouth = (points[MESH_FOR_68[48]] + points[MESH_FOR_68[54]]) / 2
    eyes = (eye_left + eye_right) / 2
    eye_to_eye = eye_right - eye_left
    eye_to_mouth = mouth - eyes
    x = eye_to_eye - np.array([-eye_to_mouth[1], eye_to_mouth[0]])
    x /= np.hypot(*x)
    x *= max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8)
    y = np.array([-x[1], x[0]])
    centre = eyes + eye_to_mouth * 0.1
    quad = np.stack([centre - x - y, centre - x + y, centre + x + y, centre + x - y])
    return FfhqGeometry(eye_left, eye_right, mouth, quad)


def quad_matrix(quad: np.ndarray, size: int) -> np.ndarray:
    """The 2×3 similarity taking the quad's corners to the output square's corners (pixel centres, the
    script's +0.5 convention): top-left → (-0.5, -0.5), bottom-right → (size - 0.5, size - 0.5)."""
    source = quad[[0, 1, 3]].astype(np.float32)
    target = np.array([(-0.5, -0.5), (-0.5, size - 0.5), (size - 0.5, -0.5)], dtype=np.float32)
    return cv2.getAffineTransform(source, target).astype(np.float64)


@dataclass(frozen=True, slots=True)
class FfhqAlignment:
    image: np.ndarray  # (size, size, 3) uint8 RGB
    matrix: np.ndarray  # (2, 3) frame pixels -> crop pixels
    geometry: FfhqGeometry
    face: Face

    def aligned_face(self) -> AlignedFace:
        """The crop as the compose stage takes it (landmarks in crop pixels)."""
        return AlignedFace(
            image=self.image,
            matrix=self.matrix,
            landmarks=transform_landmarks(self.face.landmarks, self.matrix),
            face=self.face,
        )


def _padded(image: np.ndarray, quad: np.ndarray, side: float) -> tuple[np.ndarray, np.ndarray]:
    """The script's padding: reflect the image where the square leaves it, fade the reflection towards a
    blur and the median colour; returns the image and the offset added to frame coordinates."""
    border = max(int(np.rint(side * 0.1)), 3)
    height, width = image.shape[:2]
    low = np.floor(quad.min(axis=0)).astype(int)
    high = np.ceil(quad.max(axis=0)).astype(int)
    pad = np.array([-low[0] + border, -low[1] + border, high[0] - width + border, high[1] - height + border])
    pad = np.maximum(pad, 0)
    if pad.max() <= border - 4:
        return image, np.zeros(2)
    pad = np.maximum(pad, int(np.rint(side * 0.3)))
    left, top, right, bottom = (int(v) for v in pad)
    padded = np.pad(image.astype(np.float32), ((top, bottom), (left, right), (0, 0)), mode="reflect")
    rows, cols = padded.shape[:2]
    y, x = np.ogrid[:rows, :cols]
    mask = np.maximum(
        1.0 - np.minimum(x / left, (cols - 1 - x) / right), 1.0 - np.minimum(y / top, (rows - 1 - y) / bottom)
    ).astype(np.float32)[..., None]
    sigma = side * 0.02
    blurred = cv2.GaussianBlur(padded, (0, 0), sigmaX=sigma, sigmaY=sigma)
    padded += (blurred - padded) * np.clip(mask * 3.0 + 1.0, 0.0, 1.0)
    padded += (np.median(padded, axis=(0, 1)) - padded) * np.clip(mask, 0.0, 1.0)
    return np.clip(np.rint(padded), 0, 255).astype(np.uint8), np.array([left, top], dtype=np.float64)


def align_ffhq(image: np.ndarray, face: Face, size: int = 1024) -> FfhqAlignment:
    """The FFHQ-aligned ``size``-px crop of ``face`` in ``image`` and the frame-to-crop matrix."""
    geometry = ffhq_geometry(face)
    side = geometry.side
    if side < MIN_QUAD:
        raise InputError(
            f"The face is too small for FFHQ alignment: its square is {side:.0f} px in the photo, "
            f"at least {MIN_QUAD} px are needed."
        )
    shrink = int(np.floor(side / size * 0.5))
    work, scale = image, np.ones(2)
    if shrink > 1:
        height, width = image.shape[:2]
        small = (int(np.rint(width / shrink)), int(np.rint(height / shrink)))
        work = cv2.resize(image, small, interpolation=cv2.INTER_AREA)
        scale = np.array([small[0] / width, small[1] / height])
    quad = geometry.quad * scale
    work, offset = _padded(work, quad, side * scale.mean())
    local = quad_matrix(quad + offset, size)
    crop = cv2.warpAffine(work, local, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    # frame -> crop: scale (the shrink), shift (the padding), then the quad's similarity
    matrix = local[:, :2] @ np.diag(scale)
    matrix = np.hstack([matrix, (local[:, :2] @ offset + local[:, 2])[:, None]])
    return FfhqAlignment(crop, matrix, geometry, face)
