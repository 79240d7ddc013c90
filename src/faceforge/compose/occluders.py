"""Built-in occlusion maskers: what lies in front of the target's face keeps the target's pixels.

Two kinds, both needing no download:

- ``hands``: MediaPipe Hands (its model ships inside the mediapipe wheel) run on a window of the frame
  around the face, twice the crop's side, so a hand reaching in from outside the crop is still seen whole;
  each hand is drawn as its palm polygon plus a thick stroke per finger bone and one for the wrist
  and forearm.
- ``occluder``: objects that are not the target's skin (a microphone, a cup, a glasses frame, a strand of
  hair). A colour model of the target's own bare skin is fitted on each face, robustly (median and MAD,
  so a partly covered cheek does not move it), and large regions of the face that the model rejects and
  that reach the face's outline (an occluder comes in from outside the face; nostrils, lips and eyes do
  not) are cut out. Lips and the mouth opening are not mistaken for occluders: the lip band is judged
  with the looser chroma allowance lips need, and the mouth opening is left to ``keep_mouth``.

In a video both hold their mask per track: a region fades out over a few frames instead of blinking off
when one frame misses it (:class:`TrackMemory`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from faceforge.compose.masks import face_size, skin_mask
from faceforge.compose.surface import fit_surface
from faceforge.geometry import landmark_regions as regions

if TYPE_CHECKING:
    from faceforge.compose.maskers import MaskContext

_FADE = 0.6  # per frame: how much of a track's last occlusion mask is kept when this frame misses it
_HAND_WINDOW = 2.0  # the hand search window's side, in crop sides, centred on the crop
_HAND_SIDE = 256  # the window is resampled to this side for MediaPipe
_HAND_GROW = 0.04  # the drawn hand is grown this much (fraction of the face size): landmarks are rough
_PALM = (0, 1, 2, 5, 9, 13, 17)
_BONES = (
    (1, 2), (2, 3), (3, 4), (5, 6), (6, 7), (7, 8), (9, 10), (10, 11), (11, 12),
    (13, 14), (14, 15), (15, 16), (17, 18), (18, 19), (19, 20), (0, 1), (0, 5), (0, 17),
)  # fmt: skip


class TrackMemory:
    """Per-track occlusion masks held across frames: ``hold`` returns ``max(mask, _FADE * last)``.

    An occluder seen in one frame fades out over a few frames instead of blinking off when the next
    frame misses it. Images (``track_id`` None) are not held.
    """

    def __init__(self) -> None:
        self._last: dict[int, np.ndarray] = {}

    def hold(self, track_id: int | None, mask: np.ndarray) -> np.ndarray:
        if track_id is None:
            return mask
        last = self._last.get(track_id)
        if last is not None and last.shape == mask.shape:
            mask = np.maximum(mask, last * np.float32(_FADE))
        self._last[track_id] = mask
        return mask

    def reset(self) -> None:
        self._last.clear()


def _feather(hard: np.ndarray, size: float, grow: float, sigma: float) -> np.ndarray:
    """A uint8 mask grown by ``grow * size`` pixels and feathered by ``sigma * size``, as float32."""
    radius = max(round(grow * size), 1)
    grown = cv2.dilate(hard, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2))
    soft = grown.astype(np.float32) * np.float32(1 / 255)
    return cv2.GaussianBlur(soft, (0, 0), max(sigma * size, 0.5))


def _pixel(point: np.ndarray) -> tuple[int, int]:
    return round(float(point[0])), round(float(point[1]))


class HandMasker:
    """Hands in front of the face, found by MediaPipe Hands on a window twice the crop's side."""

    def __init__(self, max_hands: int = 2) -> None:
        from mediapipe.python.solutions.hands import Hands

        # The light model (complexity 0) took half of a singer's face for a hand (talking_audio_3s frame 30).
        self._hands = Hands(static_image_mode=True, max_num_hands=max_hands, model_complexity=1)
        self._memory = TrackMemory()

    def _window(self, context: MaskContext) -> tuple[np.ndarray, np.ndarray]:
        """The frame window around the face at ``_HAND_SIDE`` px, and its window -> crop affine."""
        height, width = context.size
        crop_to_window = np.array(
            [
                [
                    _HAND_SIDE / (_HAND_WINDOW * width),
                    0.0,
                    _HAND_SIDE * (_HAND_WINDOW - 1) / (2 * _HAND_WINDOW),
                ],
                [
                    0.0,
                    _HAND_SIDE / (_HAND_WINDOW * height),
                    _HAND_SIDE * (_HAND_WINDOW - 1) / (2 * _HAND_WINDOW),
                ],
            ]
        )
        frame_to_window = crop_to_window[:, :2] @ context.matrix
        frame_to_window[:, 2] += crop_to_window[:, 2]
        window = cv2.warpAffine(
            context.frame, frame_to_window, (_HAND_SIDE, _HAND_SIDE), flags=cv2.INTER_AREA,
            borderMode=cv2.BORDER_CONSTANT,
        )  # fmt: skip
        return window, cv2.invertAffineTransform(crop_to_window)

    def __call__(self, context: MaskContext) -> np.ndarray:
        height, width = context.size
        window, window_to_crop = self._window(context)
        found = self._hands.process(window).multi_hand_landmarks or []
        hard = np.zeros((height, width), np.uint8)
        for hand in found:
            points = np.array([[p.x, p.y] for p in hand.landmark]) * _HAND_SIDE
            points = points @ window_to_crop[:, :2].T + window_to_crop[:, 2]
            palm_width = float(np.linalg.norm(points[5] - points[17]))
            thickness = max(round(0.4 * palm_width), 2)
            cv2.fillPoly(hard, [np.round(points[list(_PALM)]).astype(np.int32)], 255, cv2.LINE_AA)
            # The wrist and forearm carry on from the palm, away from the middle finger.
            forearm = points[0] + (points[0] - points[9])
            segments = [(points[a], points[b], thickness) for a, b in _BONES]
            segments.append((points[0], forearm, max(round(0.9 * palm_width), 2)))
            for start, end, width in segments:
                cv2.line(hard, _pixel(start), _pixel(end), 255, width, cv2.LINE_AA)
        if not found:
            return self._memory.hold(context.track_id, np.zeros((height, width), np.float32))
        mask = _feather(hard, face_size(context.landmarks), _HAND_GROW, 0.01)
        return self._memory.hold(context.track_id, mask)

    def reset(self) -> None:
        self._memory.reset()

    def close(self) -> None:
        self._hands.close()


_Z_CHROMA = 4.5  # robust z of (a*, b*) off the skin model beyond which a pixel is not the target's skin
_Z_LIGHTNESS = 5.0  # the same for L*, looser: skin texture (pores, stubble) spreads lightness more
_MIN_SIGMA = np.array([4.0, 1.5, 1.5], np.float32)  # L*, a*, b* floors for the skin model's spread
_MIN_AREA = 0.004  # smallest occluder kept, fraction of the face-oval area
_RIM = 0.04  # an occluder must reach this close to the face outline (fraction of the face size)
_LIP_GROW = 0.04  # the lip allowance reaches this far past the lip contour (landmarks miss lip edges)
_REACH = 0.12  # how far past the face oval an occluder is followed (the face mask's feather reaches)
_WORK_SIDE = 128  # the occluder masker judges crops at most this large
_EYES_AND_BROWS = (regions.LEFT_EYE, regions.RIGHT_EYE, regions.LEFT_EYEBROW, regions.RIGHT_EYEBROW)
_FEATURE_GROW = 0.03  # eyes, brows and the mouth opening are grown this much and never judged


def _polygon_mask(landmarks: np.ndarray, loops: list[tuple[int, ...]], shape: tuple[int, int]) -> np.ndarray:
    out = np.zeros(shape, np.uint8)
    cv2.fillPoly(out, [np.round(landmarks[list(loop), :2]).astype(np.int32) for loop in loops], 255)
    return out


def _disc(radius_px: float) -> np.ndarray:
    radius = max(round(radius_px), 1)
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def _skin_residuals(lab: np.ndarray, sample: np.ndarray) -> np.ndarray | None:
    """Each pixel's departure from a smooth (quadratic) model of the target's sampled skin, in robust
    sigmas per L*a*b* channel: smooth shading is explained, objects are not. None when too few samples."""
    fitted = fit_surface(lab, sample, _MIN_SIGMA)
    if fitted is None:
        return None
    surface, sigma = fitted
    return (lab - surface) / sigma


def _filled(region: np.ndarray) -> np.ndarray:
    """``region`` with its holes filled: an object in front of the face has none, while the pixels the
    colour test passes inside it (a dark object over the lip band, whose darkness is allowed there) do."""
    count, labels = cv2.connectedComponents((~region).astype(np.uint8), connectivity=4)
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    holes = ~region & ~np.isin(labels, border)
    return region | holes if count > 1 else region


def _occluders(crop: np.ndarray, marks: np.ndarray) -> np.ndarray:
    """The occluder mask of one crop (see :class:`SkinOutlierMasker`), float32 ``(H, W)``."""
    shape = (int(crop.shape[0]), int(crop.shape[1]))
    size = face_size(marks)
    oval = _polygon_mask(marks, [regions.FACE_OVAL], shape)
    mask = np.zeros(shape, np.float32)
    x, y, w, h = cv2.boundingRect(oval)
    if w < 8 or h < 8:
        return mask
    # Beyond the oval by the reach of the face mask's feather, where an occluder carries on.
    margin = round(_REACH * size)
    y0, x0 = max(y - margin, 0), max(x - margin, 0)
    box = np.s_[y0 : y + h + margin, x0 : x + w + margin]
    lab = cv2.cvtColor(crop[box].astype(np.float32) * np.float32(1 / 255), cv2.COLOR_RGB2LAB)
    z = _skin_residuals(lab, skin_mask(marks, shape)[box])
    if z is None:
        return mask
    lips = cv2.dilate(_polygon_mask(marks, [regions.MOUTH_OUTER], shape), _disc(_LIP_GROW * size))[box] > 0
    # Lips are redder (a* up) and darker (L* down) than skin: those departures are explained there.
    z[..., 0] = np.where(lips, np.maximum(z[..., 0], 0.0), z[..., 0])
    z[..., 1] = np.where(lips, np.minimum(z[..., 1], 0.0), z[..., 1])
    outlier = (np.hypot(z[..., 1], z[..., 2]) > _Z_CHROMA) | (np.abs(z[..., 0]) > _Z_LIGHTNESS)
    grow = _disc(_FEATURE_GROW * size)
    eyes = cv2.dilate(_polygon_mask(marks, list(_EYES_AND_BROWS), shape), grow)[box] > 0
    mouth = cv2.dilate(_polygon_mask(marks, [regions.MOUTH_INNER], shape), grow)[box] > 0
    inside = oval[box] > 0
    hard = (outlier & inside & ~eyes & ~mouth).astype(np.uint8) * 255
    hard = cv2.morphologyEx(hard, cv2.MORPH_OPEN, _disc(0.008 * size))
    rim = inside & (cv2.erode(oval, _disc(_RIM * size))[box] == 0)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(hard, connectivity=8)
    large = np.flatnonzero(stats[:, cv2.CC_STAT_AREA] >= _MIN_AREA * size * size)
    seeds = np.intersect1d(large[large > 0], np.unique(labels[rim]))
    if len(seeds) == 0:
        return mask
    # Grow each occluder through every connected non-skin pixel, the mouth included (an object over the
    # mouth is cut by the mouth's exclusion into pieces that do not all reach the rim), but never into
    # the eyes and brows: through the nostrils and the mouth it reached them and kept the target's eyes.
    seeded = np.isin(labels, seeds)
    _, grown = cv2.connectedComponents(((outlier & ~eyes) | seeded).astype(np.uint8), connectivity=8)
    occluder = np.isin(grown, np.unique(grown[seeded])) & inside
    # Past the outline the occluder carries on as far as the face mask's feather reaches.
    reach = cv2.dilate(occluder.astype(np.uint8), _disc(_REACH * size)) > 0
    occluder = _filled(occluder | (reach & ~inside & outlier))
    mask[box] = _feather(occluder.astype(np.uint8) * 255, size, 0.01, 0.008)
    return mask


class SkinOutlierMasker:
    """Objects in front of the face that are not the target's skin, found against a robust per-face
    skin-colour model (see the module docstring). Crops larger than ``_WORK_SIDE`` are judged at that
    side and the mask is upsampled: occluders are large regions, and the cost falls fourfold."""

    def __init__(self) -> None:
        self._memory = TrackMemory()

    def __call__(self, context: MaskContext) -> np.ndarray:
        height, width = context.size
        scale = min(1.0, _WORK_SIDE / max(height, width))
        if scale < 1.0:
            small = (max(round(width * scale), 1), max(round(height * scale), 1))
            crop = cv2.resize(context.crop, small, interpolation=cv2.INTER_AREA)
            marks = context.landmarks * np.float32(scale)
            mask = cv2.resize(_occluders(crop, marks), (width, height), interpolation=cv2.INTER_LINEAR)
        else:
            mask = _occluders(context.crop, context.landmarks)
        return self._memory.hold(context.track_id, mask)

    def reset(self) -> None:
        self._memory.reset()

    def close(self) -> None:
        """Nothing to release."""
