"""The demo's photos are frontal colour portraits that registry packages ship, and its compare sheet
shows source, target and result side by side."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from faceforge.analysis.analyser import FaceAnalyser
from faceforge.demo import compare_sheet, sample_photos, write_sample_video
from faceforge.geometry.pose import head_pose
from faceforge.media.video import probe_video


def test_the_sample_photos_are_frontal_colour_portraits() -> None:
    with FaceAnalyser() as analyser:
        for photo in sample_photos():
            assert photo.dtype == np.uint8 and photo.ndim == 3 and photo.shape[2] == 3
            spread = photo.astype(int).max(axis=2) - photo.astype(int).min(axis=2)
            assert spread.mean() > 20  # colour, not grey in three channels
            (face,) = analyser.faces(photo)
            yaw, pitch, _ = head_pose(face.landmarks)
            assert abs(yaw) < 15 and abs(pitch) < 20, (yaw, pitch)


def test_the_compare_sheet_puts_three_panels_side_by_side() -> None:
    source, target = sample_photos()
    sheet = compare_sheet(source, target, target, height=120)
    widths = [round(image.shape[1] * 120 / image.shape[0]) for image in (source, target, target)]
    assert sheet.shape == (120, sum(widths) + 12, 3) and sheet.dtype == np.uint8
    assert (sheet[:, widths[0] : widths[0] + 6] == 255).all()  # the gap between the first two


def test_the_sample_video_moves_gently_and_has_sound(tmp_path: Path) -> None:
    _, target = sample_photos()
    video = tmp_path / "target.mp4"
    write_sample_video(video, target[::4, ::4].copy(), seconds=0.4, fps=10)
    info = probe_video(video)
    assert info.frame_count == 4 and info.has_audio
