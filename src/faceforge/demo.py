"""``faceforge demo``: builds sample media from photos that registry packages ship and swaps faces in them.

Both photos are frontal colour portraits in the public domain: NASA's portrait of astronaut Eileen
Collins (scikit-image's ``data.astronaut()``, the source face) and the US Navy's portrait of Grace Hopper
(matplotlib's sample data ``grace_hopper.jpg``, the target). No package ships a video of a face, so the
sample video is made from the target photo: a gentle head motion (a slow sway, tilt and zoom) with a
sine tone as its audio track, so the demo also shows that audio and timing are kept.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from faceforge.media.atomic import atomic_output
from faceforge.media.images import read_image, write_image


def sample_photos() -> tuple[np.ndarray, np.ndarray]:
    """(source, target) RGB photos: scikit-image's astronaut and matplotlib's Grace Hopper."""
    from matplotlib import cbook
    from skimage import data

    target = read_image(Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)))
    return data.astronaut(), target


def compare_sheet(
    source: np.ndarray, target: np.ndarray, result: np.ndarray, height: int = 360
) -> np.ndarray:
    """source | target | result side by side at one ``height``, each labelled."""
    panels = []
    for image, label in ((source, "source"), (target, "target"), (result, "result")):
        width = round(image.shape[1] * height / image.shape[0])
        panel = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
        cv2.rectangle(panel, (0, 0), (len(label) * 13 + 12, 28), (0, 0, 0), thickness=-1)
        cv2.putText(panel, label, (6, 21), cv2.FONT_HERSHEY_SIMPLEX, 0.65, (255, 255, 255), 1, cv2.LINE_AA)
        panels.append(panel)
    gap = np.full((height, 6, 3), 255, np.uint8)
    return np.concatenate([panels[0], gap, panels[1], gap, panels[2]], axis=1)


def write_sample_video(path: Path, photo: np.ndarray, seconds: float = 3.0, fps: int = 25) -> None:
    """A short H.264 + AAC clip: ``photo`` with a gentle head motion (a sway of 3 % of the width, a tilt
    of 4 degrees, a zoom of 8 %, one slow cycle) and a 440 Hz tone."""
    height, width = photo.shape[:2]
    frames = round(seconds * fps)
    sample_rate, samples_per_frame = 48_000, 1024
    with atomic_output(path) as temp, av.open(str(temp), "w") as container:
        video = container.add_stream("libx264", rate=fps, options={"crf": "20", "preset": "veryfast"})
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        audio = container.add_stream("aac", rate=sample_rate, layout="mono")
        for index in range(frames):
            phase = 2 * math.pi * index / max(frames - 1, 1)
            zoom = 1.0 + 0.04 * (1 - math.cos(phase))
            matrix = cv2.getRotationMatrix2D((width * 0.5, height * 0.4), 4.0 * math.sin(phase), zoom)
            matrix[0, 2] += 0.03 * width * math.sin(phase)
            image = cv2.warpAffine(photo, matrix, (width, height), borderMode=cv2.BORDER_REFLECT101)
            picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(image, dtype=np.uint8), format="rgb24")
            container.mux(video.encode(picture))
        container.mux(video.encode())
        total = round(seconds * sample_rate)
        for start in range(0, total, samples_per_frame):
            count = min(samples_per_frame, total - start)
            t = (np.arange(start, start + count) / sample_rate).astype(np.float32)
            tone = (0.2 * np.sin(2 * math.pi * 440.0 * t)).astype(np.float32)[None]
            frame = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = sample_rate, start, Fraction(1, sample_rate)
            container.mux(audio.encode(frame))
        container.mux(audio.encode())


def prepare_samples(folder: Path) -> tuple[Path, Path, Path]:
    """Write the sample source photo, target photo and target video into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    source, target = sample_photos()
    paths = folder / "source.png", folder / "target.png", folder / "target.mp4"
    write_image(paths[0], source)
    write_image(paths[1], target)
    write_sample_video(paths[2], target)
    return paths


def write_compare(path: Path, source: Path, target: Path, result: Path) -> None:
    """``path``: the :func:`compare_sheet` of the three image files."""
    write_image(path, compare_sheet(read_image(source), read_image(target), read_image(result)))
