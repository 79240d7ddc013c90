"""Face detection with MediaPipe's BlazeFace models (short and full range), tiled for large frames.

BlazeFace sees the image at 128 px (short range) or 192 px (full range), so a 50-px face in a 2000-px
photo is invisible to it. Large images are therefore also scanned in overlapping tiles and the
detections of all passes are merged with non-maximum suppression.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from faceforge.geometry.boxes import box_iou
from faceforge.types import Detection


@dataclass(frozen=True, slots=True)
class DetectionOptions:
    min_score: float = 0.5
    tile_size: int = 640  # tiles are scanned when the image's longer side exceeds this
    tile_overlap: float = 0.25
    nms_iou: float = 0.35
    min_face: int = 16  # faces smaller than this (pixels) are ignored


def non_max_suppression(detections: list[Detection], iou: float) -> list[Detection]:
    """Keep the best-scoring detection of each overlapping group, also dropping boxes mostly inside a
    better one (a face cut by a tile edge)."""
    ordered = sorted(detections, key=lambda d: d.score, reverse=True)
    kept: list[Detection] = []
    for det in ordered:
        if kept:
            boxes = np.stack([k.box for k in kept])
            overlap = box_iou(det.box[None], boxes)[0]
            inter_frac = _intersection_over_own_area(det.box, boxes)
            if overlap.max() > iou or inter_frac.max() > 0.6:
                continue
        kept.append(det)
    return kept


def _intersection_over_own_area(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    x0 = np.maximum(box[0], others[:, 0])
    y0 = np.maximum(box[1], others[:, 1])
    x1 = np.minimum(box[2], others[:, 2])
    y1 = np.minimum(box[3], others[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    return inter / max(float((box[2] - box[0]) * (box[3] - box[1])), 1e-6)


def tile_grid(height: int, width: int, tile: int, overlap: float) -> list[tuple[int, int, int, int]]:
    """Overlapping square tiles (x0, y0, x1, y1) covering the image; empty if it fits in one tile."""
    if max(height, width) <= tile:
        return []
    step = max(int(tile * (1.0 - overlap)), 1)

    def starts(length: int) -> list[int]:
        if length <= tile:
            return [0]
        positions = list(range(0, length - tile, step))
        positions.append(length - tile)
        return positions

    return [
        (x, y, min(x + tile, width), min(y + tile, height)) for y in starts(height) for x in starts(width)
    ]


class MediaPipeDetector:
    """BlazeFace short- and full-range detection over the whole image and, for large images, tiles.

    Holds two MediaPipe graphs; not thread-safe (use one instance per thread). Call ``close()`` or use
    it as a context manager to release them.
    """

    name = "mediapipe"

    def __init__(self, options: DetectionOptions | None = None) -> None:
        from mediapipe.python.solutions import face_detection

        self.options = options or DetectionOptions()
        self._short = face_detection.FaceDetection(
            model_selection=0, min_detection_confidence=self.options.min_score
        )
        self._full = face_detection.FaceDetection(
            model_selection=1, min_detection_confidence=self.options.min_score
        )

    def __enter__(self) -> MediaPipeDetector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._short.close()
        self._full.close()

    def tile_count(self, height: int, width: int) -> int:
        """How many tiles :meth:`detect` scans in an image of this size (0: the whole image only)."""
        return len(tile_grid(height, width, self.options.tile_size, self.options.tile_overlap))

    def detect(self, image: np.ndarray, tiles: Iterable[int] | None = None) -> list[Detection]:
        """All faces in an RGB image, best first.

        ``tiles`` limits the tile pass to those tile indices (``None``: every tile), so that a caller
        looking only for new faces, video frame after video frame, can spread the tiles over frames.
        """
        height, width = image.shape[:2]
        found = self._run(self._full, image, 0, 0) + self._run(self._short, image, 0, 0)
        grid = tile_grid(height, width, self.options.tile_size, self.options.tile_overlap)
        if tiles is not None:
            grid = [grid[i] for i in sorted(set(tiles)) if 0 <= i < len(grid)]
        for x0, y0, x1, y1 in grid:
            tile = np.ascontiguousarray(image[y0:y1, x0:x1])
            found += self._run(self._full, tile, x0, y0)
        found = [d for d in found if min(d.box[2] - d.box[0], d.box[3] - d.box[1]) >= self.options.min_face]
        return non_max_suppression(found, self.options.nms_iou)

    @staticmethod
    def _run(graph: object, image: np.ndarray, x_off: int, y_off: int) -> list[Detection]:
        height, width = image.shape[:2]
        result = graph.process(image)  # type: ignore[attr-defined]
        detections = []
        for det in result.detections or []:
            rel = det.location_data.relative_bounding_box
            box = np.array(
                [
                    rel.xmin * width,
                    rel.ymin * height,
                    (rel.xmin + rel.width) * width,
                    (rel.ymin + rel.height) * height,
                ],
                dtype=np.float32,
            )
            box += np.array([x_off, y_off, x_off, y_off], dtype=np.float32)
            keypoints = np.array(
                [[k.x * width + x_off, k.y * height + y_off] for k in det.location_data.relative_keypoints],
                dtype=np.float32,
            )
            detections.append(Detection(box=box, score=float(det.score[0]), keypoints=keypoints))
        return detections
