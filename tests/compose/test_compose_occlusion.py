"""Built-in occlusion maskers on real occluders: a real hand and a real object over a real target's mouth
keep their pixels through compose, while the rest of the face is swapped."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import align, load_rgb, mesh_landmarks, video_frame

from faceforge.compose import ComposeOptions, Compositor, MaskContext
from faceforge.compose.occluders import HandMasker, SkinOutlierMasker
from faceforge.geometry import landmark_regions as regions


def _hand_cutout() -> tuple[np.ndarray, np.ndarray]:
    """The raised right hand of short_noaudio_small.mp4 frame 30 and its pixel mask: skin-coloured pixels
    (the chalkboard behind is teal) inside the grown hull of MediaPipe's hand landmarks."""
    from mediapipe.python.solutions.hands import Hands

    frame = video_frame("short_noaudio_small.mp4", 30)
    with Hands(static_image_mode=True, max_num_hands=2, model_complexity=0) as hands:
        found = hands.process(frame).multi_hand_landmarks
    h, w = frame.shape[:2]
    hands_points = [np.array([[p.x * w, p.y * h] for p in hand.landmark]) for hand in found]
    points = max(hands_points, key=lambda p: p[:, 0].mean())  # the hand on the right of the picture
    x0, y0 = (points.min(axis=0) - 15).astype(int)
    x1, y1 = (points.max(axis=0) + 15).astype(int)
    patch = frame[y0:y1, x0:x1]
    lab = cv2.cvtColor(patch, cv2.COLOR_RGB2LAB).astype(int)
    skin = ((lab[..., 1] >= 131) | ((lab[..., 2] >= 140) & (lab[..., 1] >= 127))).astype(np.uint8) * 255
    skin = cv2.morphologyEx(skin, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    hull = np.zeros_like(skin)
    cv2.fillConvexPoly(hull, cv2.convexHull(np.round(points - [x0, y0]).astype(np.int32)), 255)
    return patch, (skin & cv2.dilate(hull, np.ones((15, 15), np.uint8))) > 0


def _place(target: np.ndarray, patch: np.ndarray, where: np.ndarray, top_left: tuple[int, int]):
    """``target`` with ``patch`` pasted where ``where`` holds, and the pasted pixels' frame mask."""
    out, pasted = target.copy(), np.zeros(target.shape[:2], bool)
    y, x = top_left
    box = np.s_[y : y + patch.shape[0], x : x + patch.shape[1]]
    out[box][where] = patch[where]
    pasted[box] = where
    return out, pasted


@pytest.fixture(scope="module")
def hand_scene():
    """face_frontal_b with a real hand over the mouth; the pasted pixels; another face's crop as the swap."""
    target = load_rgb("face_frontal_b.jpg")
    (marks,) = mesh_landmarks([target])
    patch, where = _hand_cutout()
    scale = 0.75 * (marks[152, 1] - marks[10, 1]) / patch.shape[0]
    patch = cv2.resize(patch, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    where = cv2.resize(where.astype(np.uint8), patch.shape[1::-1], interpolation=cv2.INTER_NEAREST) > 0
    mouth_x, mouth_y = marks[13, :2]
    top_left = (int(mouth_y - 0.35 * patch.shape[0]), int(mouth_x - 0.5 * patch.shape[1]))
    return _scene(target, patch, where, top_left)


@pytest.fixture(scope="module")
def object_scene():
    """face_frontal_a with a dark real object (a piece of the singer's jacket from talking_audio.mp4)
    held over the mouth and chin, reaching below the chin as a microphone would."""
    target = load_rgb("face_frontal_a.jpg")
    (marks,) = mesh_landmarks([target])
    cloth = video_frame("talking_audio.mp4", 45)[500:560, 470:520]
    width = int(0.25 * (marks[454, 0] - marks[234, 0]))
    height = int(1.5 * (marks[152, 1] - marks[13, 1]))
    patch = cv2.resize(cloth, (width, height), interpolation=cv2.INTER_CUBIC)
    top_left = (int(marks[13, 1] - height // 5), int(marks[13, 0] - width // 2))
    return _scene(target, patch, np.ones(patch.shape[:2], bool), top_left)


def _scene(target, patch, where, top_left):
    occluded, pasted = _place(target, patch, where, top_left)
    source = load_rgb("face_lookup_g.jpg")
    occluded_marks, source_marks = mesh_landmarks([occluded, source])
    aligned = align(occluded, occluded_marks)
    swapped = align(source, source_marks).image
    return occluded, pasted, aligned, swapped


def _core(pasted: np.ndarray, face: np.ndarray, grow: int) -> np.ndarray:
    """Pasted pixels at least ``grow`` pixels from the occluder's edge, inside the face."""
    core = cv2.erode(pasted.astype(np.uint8), np.ones((2 * grow + 1,) * 2, np.uint8)) > 0
    return core & face


def _face_region(aligned, frame_shape) -> np.ndarray:
    oval = aligned.face.landmarks[list(regions.FACE_OVAL), :2]
    region = np.zeros(frame_shape[:2], np.uint8)
    cv2.fillPoly(region, [np.round(oval).astype(np.int32)], 255)
    return region > 0


@pytest.mark.parametrize(("scene_name", "masker"), [("hand_scene", "hands"), ("object_scene", "occluder")])
def test_a_real_occluder_keeps_its_pixels_and_the_rest_is_swapped(request, scene_name, masker) -> None:
    occluded, pasted, aligned, swapped = request.getfixturevalue(scene_name)
    face = _face_region(aligned, occluded.shape)
    core = _core(pasted, face, grow=4)
    assert core.sum() > 500  # the occluder covers a real part of the face
    plain = Compositor(ComposeOptions(occlusion=())).compose(occluded, aligned, swapped)
    compositor = Compositor(ComposeOptions(occlusion=(masker,)))
    kept = compositor.compose(occluded, aligned, swapped)
    compositor.close()
    change = np.abs(kept.astype(np.int16) - occluded).max(axis=2)
    # Without the masker the swap paints over the occluder; with it the occluder's pixels come through.
    assert np.abs(plain.astype(np.int16) - occluded).max(axis=2)[core].mean() > 20
    assert change[core].mean() < 2.0 and np.percentile(change[core], 99) <= 8
    # The rest of the face (cheeks and forehead well away from the occluder) is still swapped.
    away = face & ~(cv2.dilate(pasted.astype(np.uint8), np.ones((41, 41), np.uint8)) > 0)
    assert change[away].mean() > 10
    for eye in (regions.LEFT_EYE, regions.RIGHT_EYE):  # an occluder over the mouth never takes the eyes
        x, y = aligned.face.landmarks[list(eye), :2].mean(axis=0).astype(int)
        assert change[y - 3 : y + 4, x - 3 : x + 4].mean() > 10


@pytest.mark.parametrize("name", ["face_frontal_a.jpg", "face_lowkey_c.jpg", "face_darkskin_i.jpg"])
def test_the_occluder_masker_leaves_clean_faces_alone(name: str) -> None:
    """No occluder in front (a bearded face, a dark face, an evenly lit one): at most 2 % of the face oval
    is cut out (hair strands at the temples may be)."""
    image = load_rgb(name)
    (marks,) = mesh_landmarks([image])
    aligned = align(image, marks)
    mask = SkinOutlierMasker()(MaskContext(aligned.image, aligned.landmarks, image, aligned.matrix))
    oval = np.zeros(aligned.image.shape[:2], np.uint8)
    cv2.fillPoly(oval, [np.round(aligned.landmarks[list(regions.FACE_OVAL), :2]).astype(np.int32)], 255)
    assert (mask[oval > 0] > 0.5).mean() < 0.02


def test_a_track_holds_an_occluder_for_a_few_frames(object_scene) -> None:
    """A frame that misses the occluder fades its track's mask out instead of dropping it at once; another
    track and a reset start clean."""
    occluded, _, aligned, _ = object_scene
    clean = load_rgb("face_frontal_a.jpg")
    masker = SkinOutlierMasker()
    seen = masker(MaskContext(aligned.image, aligned.landmarks, occluded, aligned.matrix, track_id=1))
    assert seen.max() > 0.9
    missed_crop = cv2.warpAffine(clean, aligned.matrix, aligned.image.shape[1::-1])
    missed = masker(MaskContext(missed_crop, aligned.landmarks, clean, aligned.matrix, track_id=1))
    np.testing.assert_allclose(missed.max(), 0.6 * seen.max(), rtol=0.02)
    other = masker(MaskContext(missed_crop, aligned.landmarks, clean, aligned.matrix, track_id=2))
    masker.reset()
    after_reset = masker(MaskContext(missed_crop, aligned.landmarks, clean, aligned.matrix, track_id=1))
    assert other.max() < 0.5 and after_reset.max() < 0.5


@pytest.mark.parametrize(
    "read", [lambda: load_rgb("face_frontal_b.jpg"), lambda: video_frame("talking_audio_3s.mp4", 30)]
)
def test_hands_masker_finds_no_hand_on_a_bare_face(read) -> None:
    """A bare face, and a frame of talking_audio_3s.mp4 where MediaPipe's light hand model took half of
    the singer's face for a hand."""
    image = read()
    (marks,) = mesh_landmarks([image])
    aligned = align(image, marks)
    masker = HandMasker()
    try:
        mask = masker(MaskContext(aligned.image, aligned.landmarks, image, aligned.matrix))
    finally:
        masker.close()
    assert mask.max() == 0
