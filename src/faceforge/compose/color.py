"""Colour transfer of the swapped face toward the target's skin.

Statistics come only from pixels inside the mask (``mask > 0.5``) of both images, which share the crop
space, and there only from those inside ``stats`` too when the caller gives one (e.g. bare skin). The
transfer is computed only on the bounding box of the mask's support, and pixels where the mask is 0 are
returned as they were (they are never composited). When the mask holds fewer than ``MIN_PIXELS`` pixels
the statistics mean nothing and ``src`` comes back unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import cv2
import numpy as np

from faceforge.compose.surface import fit_surface
from faceforge.compose.track_state import TrackAverage

MIN_PIXELS = 64
_MIN_STD = 1.0  # LAB units: keeps a flat channel (a grey photo's a*, b*) from amplifying noise
_MAX_GAIN = 4.0
# Chroma (a*, b*): a source with almost no colour (a greyscale photo) would have its few coloured pixels
# (the target's surroundings a narrower jaw uncovers, JPEG chroma noise) stretched by the full gain into
# an orange line; its spread gain is capped lower, and every result is kept within the target's own
# chroma range (mean +- _CHROMA_RANGE spreads, plus _CHROMA_SLACK units).
_MAX_CHROMA_GAIN = 1.5
_CHROMA_RANGE = 3.0
_CHROMA_SLACK = 2.0
_MIN_SURFACE_SIGMA = np.array([1.0], np.float32)  # L* floor of the shading fit's residual spread
SHADING_LIMIT = 25.0  # L* units: never relight a pixel by more than this


class ColorTransfer(Protocol):
    """A named colour transfer the CLI can pick with ``--color NAME``. ``mask`` is where the result is
    written; ``stats`` (optional) narrows where in the mask the statistics of both images are taken."""

    def __call__(
        self, src: np.ndarray, ref: np.ndarray, mask: np.ndarray, stats: np.ndarray | None = None
    ) -> np.ndarray: ...


def _support(src: np.ndarray, ref: np.ndarray, mask: np.ndarray) -> tuple[slice, slice] | None:
    """The bounding box of the mask's support, or None when too few pixels are inside the mask."""
    if src.shape != ref.shape or src.shape[:2] != mask.shape[:2] or src.ndim != 3 or src.shape[2] != 3:
        raise ValueError(f"src {src.shape}, ref {ref.shape} and mask {mask.shape} must be (H,W,3), (H,W)")
    if np.count_nonzero(mask > 0.5) < MIN_PIXELS:
        return None
    x, y, w, h = cv2.boundingRect((mask > 0).astype(np.uint8))
    return slice(y, y + h), slice(x, x + w)


def _inside(mask: np.ndarray, stats: np.ndarray | None, box: tuple[slice, slice]) -> np.ndarray:
    """The pixels the statistics come from: the mask's, narrowed to ``stats`` when enough are left. Never
    outside the mask: there the swapped crop may hold anything (a swapper's own mask rejects it)."""
    inside = mask[box] > 0.5
    if stats is not None:
        both = inside & (stats[box] > 0.5)
        if np.count_nonzero(both) >= MIN_PIXELS:
            inside = both
    return inside.astype(np.uint8)


def _write(src: np.ndarray, box: tuple[slice, slice], moved: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A copy of ``src`` holding ``moved`` (the transferred ``box``) wherever the mask is not 0."""
    out = src.copy()
    np.copyto(out[box], moved, where=(mask[box] > 0)[..., None])
    return out


def to_lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.astype(np.float32) * np.float32(1 / 255), cv2.COLOR_RGB2LAB)


def from_lab(lab: np.ndarray) -> np.ndarray:
    rgb = cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)
    return np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _stats(lab: np.ndarray, inside: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, std = cv2.meanStdDev(lab, mask=inside)
    return mean.ravel(), std.ravel()


def reinhard(
    src: np.ndarray,
    ref: np.ndarray,
    mask: np.ndarray,
    stats: np.ndarray | None = None,
    strength: float = 1.0,
) -> np.ndarray:
    """Match the per-channel mean and standard deviation of ``src`` to ``ref`` in CIE L*a*b*.

    ``strength`` below 1 moves the lightness's spread only that far (its gain geometrically: 0.5 is the
    square root): the face keeps more of its own contrast (the depth of its eye sockets, brows, beard),
    which carries its identity. The means and the colour's spread always move all the way: a partial
    chroma match whitened greyscale and pale sources and helped identity less.
    """
    box = _support(src, ref, mask)
    if box is None:
        return src.copy()
    return _reinhard_in(src, ref, mask, stats, strength, box)[0]


def _reinhard_in(
    src: np.ndarray,
    ref: np.ndarray,
    mask: np.ndarray,
    stats: np.ndarray | None,
    strength: float,
    box: tuple[slice, slice],
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`reinhard` on the mask's ``box``, and ``ref``'s L*a*b* there (the shading fit reads it)."""
    inside = _inside(mask, stats, box)
    src_lab, ref_lab = to_lab(src[box]), to_lab(ref[box])
    src_mean, src_std = _stats(src_lab, inside)
    ref_mean, ref_std = _stats(ref_lab, inside)
    limit = np.array([_MAX_GAIN, _MAX_CHROMA_GAIN, _MAX_CHROMA_GAIN])
    gain = np.clip(ref_std / np.maximum(src_std, _MIN_STD), 0.0, limit)
    gain[0] **= strength
    moved = src_lab * gain.astype(np.float32) + (ref_mean - src_mean * gain).astype(np.float32)
    np.clip(moved[..., 0], 0, 100, out=moved[..., 0])
    reach = _CHROMA_RANGE * ref_std[1:] + _CHROMA_SLACK
    np.clip(moved[..., 1:], ref_mean[1:] - reach, ref_mean[1:] + reach, out=moved[..., 1:])
    return _write(src, box, from_lab(moved), mask), ref_lab


def _match_lut(src_hist: np.ndarray, ref_hist: np.ndarray) -> np.ndarray:
    """A 256-entry lookup table mapping the ``src_hist`` distribution onto ``ref_hist``'s.

    Levels are placed at the middle of their CDF step, so a flat source channel (a grey photo's a*, b*)
    lands on the reference's median instead of its maximum.
    """
    levels = np.arange(256, dtype=np.float64)
    src_mid = (np.cumsum(src_hist) - 0.5 * src_hist) / src_hist.sum()
    present = ref_hist > 0  # a strictly increasing CDF, as np.interp needs
    ref_counts = ref_hist[present]
    ref_mid = (np.cumsum(ref_counts) - 0.5 * ref_counts) / ref_counts.sum()
    return np.clip(np.rint(np.interp(src_mid, ref_mid, levels[present])), 0, 255).astype(np.uint8)


def _histograms(lab: np.ndarray, inside: np.ndarray) -> list[np.ndarray]:
    return [cv2.calcHist([lab], [c], inside, [256], [0, 256]).ravel() for c in range(3)]


def histogram(
    src: np.ndarray, ref: np.ndarray, mask: np.ndarray, stats: np.ndarray | None = None
) -> np.ndarray:
    """Per-channel CDF matching of ``src`` to ``ref`` in 8-bit L*a*b*, on 256-bin histograms."""
    box = _support(src, ref, mask)
    if box is None:
        return src.copy()
    inside = _inside(mask, stats, box)
    src_lab = cv2.cvtColor(np.ascontiguousarray(src[box]), cv2.COLOR_RGB2LAB)
    ref_lab = cv2.cvtColor(np.ascontiguousarray(ref[box]), cv2.COLOR_RGB2LAB)
    pairs = zip(_histograms(src_lab, inside), _histograms(ref_lab, inside), strict=True)
    luts = [_match_lut(src_hist, ref_hist) for src_hist, ref_hist in pairs]
    matched = cv2.LUT(src_lab, np.stack(luts, axis=1).reshape(256, 1, 3))
    return _write(src, box, cv2.cvtColor(matched, cv2.COLOR_LAB2RGB), mask)


def none(src: np.ndarray, ref: np.ndarray, mask: np.ndarray, stats: np.ndarray | None = None) -> np.ndarray:
    """No colour transfer."""
    return src.copy()


def light_offset(
    moved: np.ndarray, ref: np.ndarray, mask: np.ndarray, stats: np.ndarray | None = None
) -> np.ndarray | None:
    """The L* offset ``P_ref - P_moved`` over the whole crop, where each ``P`` is a plane fitted
    (robustly) to that face's lightness over the statistics pixels; None when too few pixels are inside
    the mask. Over the whole crop, not the mask's box, so that offsets of one track's frames can be
    averaged pixel by pixel (the crop is aligned to the face)."""
    box = _support(moved, ref, mask)
    if box is None:
        return None
    return _offset_in(mask, stats, box, to_lab(moved[box]), to_lab(ref[box]))


def _offset_in(
    mask: np.ndarray,
    stats: np.ndarray | None,
    box: tuple[slice, slice],
    moved_lab: np.ndarray,
    ref_lab: np.ndarray,
) -> np.ndarray | None:
    """:func:`light_offset` from both faces' L*a*b* on the mask's ``box`` (all the fits sample lies
    there; the planes still span the whole crop)."""
    inside = np.zeros(mask.shape[:2], np.uint8)
    inside[box] = _inside(mask, stats, box)
    sample = np.zeros_like(inside)
    sample[::2, ::2] = inside[::2, ::2]  # a quarter of the pixels fit a plane as well
    fits = []
    for lab in (ref_lab, moved_lab):
        lightness = np.zeros((*mask.shape[:2], 1), np.float32)
        lightness[box] = lab[..., :1]
        fits.append(fit_surface(lightness, sample, _MIN_SURFACE_SIGMA, degree=1))
    if fits[0] is None or fits[1] is None:
        return None
    return np.clip(fits[0][0][..., 0] - fits[1][0][..., 0], -SHADING_LIMIT, SHADING_LIMIT)


def relight(moved: np.ndarray, offset: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``moved`` with ``offset`` (crop-size, L* units) added to its lightness wherever the mask is not 0."""
    box = _support(moved, moved, mask)
    if box is None:
        return moved
    moved_lab = to_lab(moved[box])
    moved_lab[..., 0] = np.clip(moved_lab[..., 0] + offset[box], 0, 100)
    return _write(moved, box, from_lab(moved_lab), mask)


def _shade(
    src: np.ndarray,
    ref: np.ndarray,
    mask: np.ndarray,
    stats: np.ndarray | None,
    strength: float,
    smooth: Callable[[np.ndarray], np.ndarray] | None = None,
    steady: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """:func:`reinhard`, :func:`light_offset` (through ``smooth`` when given) and :func:`relight` in
    one, each face converted to L*a*b* once (the same values as the three calls: the box is the mask's
    in all of them). ``steady`` (video) receives the result's mean L*a*b* gap to ``ref`` over the
    statistics pixels and returns the gap to keep: the face is shifted by the difference."""
    box = _support(src, ref, mask)
    if box is None:
        return src.copy()
    moved, ref_lab = _reinhard_in(src, ref, mask, stats, strength, box)
    moved_lab = to_lab(moved[box])
    offset = _offset_in(mask, stats, box, moved_lab, ref_lab)
    if offset is None:
        return moved
    if smooth is not None:
        offset = smooth(offset)
    moved_lab[..., 0] = np.clip(moved_lab[..., 0] + offset[box], 0, 100)
    if steady is not None:
        inside = _inside(mask, stats, box)
        gap = _stats(moved_lab, inside)[0] - _stats(ref_lab, inside)[0]
        moved_lab += (steady(gap) - gap).astype(np.float32)
        np.clip(moved_lab[..., 0], 0, 100, out=moved_lab[..., 0])
    return _write(moved, box, from_lab(moved_lab), mask)


def shading(
    src: np.ndarray, ref: np.ndarray, mask: np.ndarray, stats: np.ndarray | None = None
) -> np.ndarray:
    """Reinhard's transfer, then the target's light: L* plus :func:`light_offset`.

    The plane holds the light's direction (one side of the face brighter than the other) and nothing of
    the features: a blurred ratio image carried the target's eye sockets and brows over too and moved
    the face's identity toward the target's, and a quadratic ran away on the forehead above the sampled
    skin. An offset in L*, not a factor: a factor on L* acts on luminance roughly cubed, and whitened
    the dark side of dark faces. The source's detail stays; the offset is bounded by ``SHADING_LIMIT``.
    For video, :class:`TrackShading` smooths the offset per track.
    """
    return _shade(src, ref, mask, stats, 1.0)


class TrackShading:
    """The ``shading`` transfer with each track's light direction smoothed over its frames.

    The plane fitted to one frame moves with its skin pixels (a blink, the mouth, JPEG noise), and
    unsmoothed it raised the clip's residual flicker. The plane's tilt (the offset less its mean over
    the mask) is averaged per track (``weight`` for the new frame), and so is the relit face's mean
    L*a*b* gap to the target over bare skin (``gap_weight``): Reinhard's statistics and the plane's level
    still move with each frame's pixels, and the face's tone relative to the scene must not (frontal_b on
    short_noaudio_small: flicker 1.38 of the target's own without the gap averaged, 1.06 with it). A
    change of the scene's light still passes at once: Reinhard follows the target's mean in every frame,
    only the gap left after it is averaged. Faces without a track id (stills) are not smoothed. Not
    thread-safe: one per compositor.
    """

    def __init__(self, weight: float = 0.25, strength: float = 1.0, gap_weight: float = 0.1) -> None:
        """``strength``: how far the face's lightness contrast moves to the target's (:func:`reinhard`);
        ``gap_weight``: the new frame's weight in the tone gap's average."""
        self._tilts = TrackAverage(weight)
        self._gaps = TrackAverage(gap_weight)
        self._strength = strength

    def __call__(
        self,
        src: np.ndarray,
        ref: np.ndarray,
        mask: np.ndarray,
        stats: np.ndarray | None,
        track_id: int | None,
    ) -> np.ndarray:
        def smooth(offset: np.ndarray) -> np.ndarray:
            level = np.float32(offset[mask > 0.5].mean())
            return self._tilts.update(track_id, offset - level) + level

        def steady(gap: np.ndarray) -> np.ndarray:
            return self._gaps.update(track_id, gap)

        return _shade(src, ref, mask, stats, self._strength, smooth, steady)

    def reset(self) -> None:
        """Forget every track's light."""
        self._tilts.reset()
        self._gaps.reset()


COLOR_TRANSFERS: dict[str, ColorTransfer] = {
    "reinhard": reinhard,
    "shading": shading,
    "histogram": histogram,
    "none": none,
}
