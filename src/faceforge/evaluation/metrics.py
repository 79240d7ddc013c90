"""Swap-quality metrics on plain numpy arrays: identity, pose, expression, gaze, background, stability.

Every function takes what a test or a benchmark already has (FaceMesh landmarks ``(478, 3)``, identity
descriptors, ``uint8`` RGB images) and returns plain floats, so the harness, the tests and the
benchmarks measure with the same code. The stand-ins for the models papers use are documented in
``docs/quality.md``:

- identity: the analyser's identity backend (dlib's 128-D ResNet by default) instead of CosFace;
- pose: :func:`faceforge.geometry.pose.head_pose` on the FaceMesh mesh instead of HopeNet;
- expression: FaceMesh mouth/eye/brow points after removing the head's 3-D similarity transform,
  instead of 3DMM expression coefficients;
- gaze: the iris centre's position inside the eye opening, instead of a gaze-estimation network.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from faceforge.geometry import landmark_regions as regions
from faceforge.geometry.pose import head_pose
from faceforge.geometry.similarity import umeyama

Distance = Callable[[np.ndarray, np.ndarray], np.ndarray]

PSNR_CAP_DB = 100.0  # identical images: PSNR is infinite; reported as this so JSON stays valid

# Points that move little with expression: forehead, nose bridge and tip, eye corners, temples. The
# head's 3-D similarity transform is fitted on these before expression points are compared.
RIGID_POINTS = (10, 151, 9, 8, 168, 6, 197, 195, 5, 4, 1, 33, 133, 362, 263, 127, 356, 234, 454, 162, 389)
EXPRESSION_REGIONS: dict[str, tuple[int, ...]] = {
    "mouth": tuple(sorted(set(regions.MOUTH_OUTER) | set(regions.MOUTH_INNER))),
    "eyes": tuple(sorted(set(regions.LEFT_EYE) | set(regions.RIGHT_EYE))),
    "brows": tuple(sorted(set(regions.LEFT_EYEBROW) | set(regions.RIGHT_EYEBROW))),
}
# (outer corner, inner corner, iris loop) of the subject's right and left eye; 468 and 473 are the iris
# centres FaceMesh gives with refine_landmarks.
_EYES = (
    (33, 133, (468, *regions.RIGHT_IRIS)),
    (263, 362, (473, *regions.LEFT_IRIS)),
)
_MESH = 468


# --- identity -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Retrieval:
    """Where the true identity ranks among the gallery's entries for one output face (0 = nearest)."""

    rank: int
    nearest: int  # index of the nearest gallery entry
    distance_to_true: float
    distance_to_nearest: float

    @property
    def top1(self) -> bool:
        return self.rank == 0

    @property
    def top5(self) -> bool:
        return self.rank < 5

    def top(self, k: int) -> bool:
        return self.rank < k


def identity_distances(
    output: np.ndarray, source: np.ndarray, target: np.ndarray, distance: Distance
) -> tuple[float, float]:
    """Identity distance of the output face to the source person and to the target person."""
    return float(distance(output, source)), float(distance(output, target))


def identity_retrieval(
    output: np.ndarray, gallery: np.ndarray, true_index: int, distance: Distance
) -> Retrieval:
    """Rank of the true identity when the gallery ``(N, D)`` is sorted by distance to the output.

    FaceForensics++ style: the swap succeeds when its nearest identity in a gallery of every person in
    the evaluation is the source. Ties count against the swap (a gallery entry exactly as close as the
    true one is ranked before it), so a degenerate output cannot score by luck.
    """
    gallery = np.asarray(gallery, dtype=np.float32)
    if gallery.ndim != 2 or not 0 <= true_index < len(gallery):
        raise ValueError(f"true_index {true_index} is outside the gallery of {len(gallery)} entries")
    distances = np.asarray(distance(np.asarray(output, np.float32)[None], gallery), dtype=np.float64)
    true_distance = distances[true_index]
    others = np.delete(distances, true_index)
    rank = int(np.count_nonzero(others <= true_distance))
    nearest = int(np.argmin(distances)) if rank else true_index
    return Retrieval(rank, nearest, float(true_distance), float(distances[nearest]))


# --- geometry -------------------------------------------------------------------------------------


def pose_error(output: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Absolute (yaw, pitch, roll) difference in degrees between two faces' head poses."""
    diff = head_pose(output) - head_pose(target)
    diff = (diff + 180.0) % 360.0 - 180.0
    return np.abs(diff)


def interocular(landmarks: np.ndarray) -> float:
    """Distance between the two eye centres (mean of each eye contour), in pixels."""
    points = np.asarray(landmarks, dtype=np.float64)[:, :2]
    right = points[list(regions.RIGHT_EYE)].mean(axis=0)
    left = points[list(regions.LEFT_EYE)].mean(axis=0)
    return float(np.linalg.norm(left - right))


def expression_error(output: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """Pose-normalised expression difference, in inter-ocular distances of the target.

    The output's 3-D landmarks are mapped onto the target's by the similarity transform fitted on
    :data:`RIGID_POINTS` (head rotation, position and scale removed); the mean distance of the mouth,
    eye and brow points is then measured per region. ``"total"`` is the mean of the three regions.
    Two identical faces score 0; a closed mouth against a wide-open one scores about 0.1-0.2.
    """
    out = np.asarray(output, dtype=np.float64)[:_MESH]
    tgt = np.asarray(target, dtype=np.float64)[:_MESH]
    rigid = list(RIGID_POINTS)
    scale, rotation, translation = umeyama(out[rigid], tgt[rigid])
    mapped = scale * out @ rotation.T + translation
    unit = max(interocular(tgt), 1e-6)
    result = {
        name: float(np.linalg.norm(mapped[list(idx)] - tgt[list(idx)], axis=1).mean() / unit)
        for name, idx in EXPRESSION_REGIONS.items()
    }
    result["total"] = float(np.mean([result[name] for name in EXPRESSION_REGIONS]))
    return result


def iris_positions(landmarks: np.ndarray) -> np.ndarray:
    """``(2, 2)``: for each eye (subject's right, left), the iris centre in the eye's own frame.

    x runs from the inner to the outer eye corner, y perpendicular (down in the image for an upright
    face); both in eye widths, origin at the middle of the corners. Needs the 478 refined landmarks.
    """
    points = np.asarray(landmarks, dtype=np.float64)
    if points.shape[0] < 478:
        raise ValueError("gaze needs the 478 FaceMesh landmarks with irises (refine_landmarks)")
    points = points[:, :2]
    result = np.zeros((2, 2))
    for i, (outer, inner, iris) in enumerate(_EYES):
        axis = points[outer] - points[inner]
        width = max(float(np.linalg.norm(axis)), 1e-6)
        x_axis = axis / width
        y_axis = np.array([-x_axis[1], x_axis[0]])
        if i == 0:  # the right eye's outer corner is on the image's left: flip y to point down
            y_axis = -y_axis
        centre = points[list(iris)].mean(axis=0) - (points[outer] + points[inner]) / 2
        result[i] = (centre @ x_axis / width, centre @ y_axis / width)
    return result


def gaze_error(output: np.ndarray, target: np.ndarray) -> float:
    """Mean distance, over both eyes, between the output's and the target's iris positions within the
    eye opening, in eye widths (0.1 ≈ the iris moved a tenth of the eye's width)."""
    return float(np.linalg.norm(iris_positions(output) - iris_positions(target), axis=1).mean())


# --- background -----------------------------------------------------------------------------------


def face_region(
    shape: tuple[int, ...], faces: Sequence[np.ndarray], dilate: float = 0.25, extra_px: int = 6
) -> np.ndarray:
    """Boolean ``(H, W)`` mask: the landmark hull of each face, grown by ``dilate`` face sizes plus
    ``extra_px`` pixels (room for the SSIM window, so background scores never see face pixels)."""
    height, width = shape[:2]
    region = np.zeros((height, width), np.uint8)
    for landmarks in faces:
        points = np.asarray(landmarks, dtype=np.float64)[:_MESH, :2]
        hull = cv2.convexHull(np.rint(points).astype(np.int32))
        span = points.max(axis=0) - points.min(axis=0)
        radius = math.ceil(dilate * float(span.max())) + extra_px
        x0, y0 = np.floor(points.min(axis=0)).astype(int) - radius - 1
        x1, y1 = np.ceil(points.max(axis=0)).astype(int) + radius + 2
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
        if x1 <= x0 or y1 <= y0:
            continue
        window = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillConvexPoly(window, hull - np.array([x0, y0], np.int32), 1)
        if radius > 0:
            kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
            window = cv2.dilate(window, kernel)
        region[y0:y1, x0:x1] |= window
    return region.astype(bool)


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """PSNR in dB of two uint8 images over the pixels where ``mask`` is True (all pixels without one);
    identical pixels give :data:`PSNR_CAP_DB`."""
    diff = a.astype(np.float64) - b.astype(np.float64)
    if mask is not None:
        diff = diff[mask]
    if diff.size == 0:
        return float("nan")
    mse = float(np.mean(diff**2))
    if mse == 0:
        return PSNR_CAP_DB
    return min(PSNR_CAP_DB, 10.0 * math.log10(255.0**2 / mse))


def ssim_map(a: np.ndarray, b: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    """Per-pixel SSIM (Wang et al. 2004: Gaussian window sigma 1.5, K1 0.01, K2 0.03, population
    statistics), averaged over colour channels. Matches ``skimage.metrics.structural_similarity(...,
    gaussian_weights=True, use_sample_covariance=False, data_range=255, full=True)`` away from the
    borders; implemented with OpenCV so the core install needs no scikit-image."""
    x = a.astype(np.float64)
    y = b.astype(np.float64)
    if x.ndim == 2:
        x, y = x[..., None], y[..., None]
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    radius = int(3.5 * sigma + 0.5)  # skimage's truncate=3.5

    def blur(image: np.ndarray) -> np.ndarray:
        out = cv2.GaussianBlur(
            image, (2 * radius + 1, 2 * radius + 1), sigma, borderType=cv2.BORDER_REFLECT_101
        )
        return out.reshape(image.shape)

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    value = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return value.mean(axis=2)


def background_scores(
    target: np.ndarray, output: np.ndarray, faces: Sequence[np.ndarray], dilate: float = 0.25
) -> tuple[float, float]:
    """(PSNR dB, SSIM) of the output against the target outside the faces' dilated landmark hulls:
    what the swap should leave alone. NaN when the faces cover the whole image."""
    if target.shape != output.shape:
        raise ValueError(f"target {target.shape} and output {output.shape} differ in size")
    outside = ~face_region(target.shape, faces, dilate)
    if not outside.any():
        return float("nan"), float("nan")
    return psnr(target, output, outside), float(ssim_map(target, output)[outside].mean())


# --- video ----------------------------------------------------------------------------------------


def face_size(landmarks: np.ndarray) -> float:
    """Larger side of the landmark bounding box, in pixels."""
    points = np.asarray(landmarks, dtype=np.float64)[:_MESH, :2]
    return float((points.max(axis=0) - points.min(axis=0)).max())


def landmark_jitter(sequence: Sequence[np.ndarray | None]) -> float:
    """Mean landmark acceleration: ``|p[t+1] - 2 p[t] + p[t-1]|`` over the 468 mesh points, in face
    sizes, over every three consecutive frames that all have a face. NaN with fewer than three.

    Real head motion contributes too, so compare an output with its target (:func:`ratio`): about 1
    means the swap adds no jitter of its own.
    """
    values = []
    for prev, cur, nxt in zip(sequence, sequence[1:], sequence[2:], strict=False):
        if prev is None or cur is None or nxt is None:
            continue
        p0, p1, p2 = (np.asarray(p, dtype=np.float64)[:_MESH, :2] for p in (prev, cur, nxt))
        values.append(np.linalg.norm(p2 - 2 * p1 + p0, axis=1).mean() / max(face_size(cur), 1e-6))
    return float(np.mean(values)) if values else float("nan")


def region_mean(image: np.ndarray, landmarks: np.ndarray) -> float:
    """Mean grey level inside the face's landmark hull (the region flicker is measured on)."""
    region = face_region(image.shape, [landmarks], dilate=0.0, extra_px=0)
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return float(grey[region].mean()) if region.any() else float("nan")


def flicker(means: Sequence[float | None]) -> float:
    """Mean absolute frame-to-frame change of a face region's mean grey level (grey levels), over
    consecutive frame pairs that both have a value."""
    steps = [
        abs(b - a)
        for a, b in itertools.pairwise(means)
        if a is not None and b is not None and not (math.isnan(a) or math.isnan(b))
    ]
    return float(np.mean(steps)) if steps else float("nan")


def residual_flicker(output_means: Sequence[float | None], target_means: Sequence[float | None]) -> float:
    """Flicker of the output's brightness *relative to the target's*: the frame-to-frame change of
    ``output mean - target mean`` in the same region. Lighting changes of the scene cancel out; what is
    left is brightness the swap itself adds or removes from frame to frame (colour transfer, masks)."""
    diffs = [
        None if o is None or t is None else o - t for o, t in zip(output_means, target_means, strict=True)
    ]
    return flicker(diffs)


def ratio(value: float, reference: float) -> float:
    """``value / reference``, NaN when either is missing or the reference is 0."""
    if math.isnan(value) or math.isnan(reference) or reference <= 0:
        return float("nan")
    return value / reference


def is_reverted(d_source: float, d_target: float) -> bool:
    """An output face closer to the target's identity than to the source's has reverted to the target
    (the swap failed or was dropped on this frame)."""
    return d_target < d_source
