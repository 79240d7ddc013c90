"""``faceforge demo``: builds sample media from photos that scikit-image ships and swaps faces in them.

The photos are NASA's public-domain portrait of astronaut Eileen Collins (the source face) and the
classic "cameraman" test image (the target). The sample video is made from the target photo: a slow
zoom with a sine tone as its audio track, so the demo also shows that audio and timing are kept.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from faceforge.errors import FaceforgeError
from faceforge.media.atomic import atomic_output
from faceforge.media.images import write_image


def sample_photos() -> tuple[np.ndarray, np.ndarray]:
    """(source, target) RGB photos from scikit-image's bundled data."""
    try:
        from skimage import data
    except ImportError as exc:
        raise FaceforgeError("The demo needs scikit-image: pip install 'faceforge[demo]'.") from exc
    camera = data.camera()
    return data.astronaut(), np.repeat(camera[..., None], 3, axis=2)


def write_sample_video(path: Path, photo: np.ndarray, seconds: float = 3.0, fps: int = 25) -> None:
    """A short H.264 + AAC clip: a slow zoom into ``photo`` with a 440 Hz tone."""
    height, width = photo.shape[:2]
    frames = round(seconds * fps)
    sample_rate, samples_per_frame = 48_000, 1024
    with atomic_output(path) as temp, av.open(str(temp), "w") as container:
        video = container.add_stream("libx264", rate=fps, options={"crf": "20", "preset": "veryfast"})
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        audio = container.add_stream("aac", rate=sample_rate, layout="mono")
        for index in range(frames):
            zoom = 1.0 + 0.12 * index / max(frames - 1, 1)
            matrix = cv2.getRotationMatrix2D((width * 0.45, height * 0.35), 0.0, zoom)
            image = cv2.warpAffine(photo, matrix, (width, height), borderMode=cv2.BORDER_REFLECT101)
            container.mux(video.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
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
