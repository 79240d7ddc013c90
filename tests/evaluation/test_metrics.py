"""The metrics on real faces and on controlled landmark edits: each one reads 0 where nothing differs,
responds to the change it is meant to measure, and ignores the changes it is meant to ignore."""

from __future__ import annotations

import numpy as np
import pytest

from faceforge.evaluation import metrics as m
from faceforge.types import Face

SAME_PERSON = 0.6


@pytest.fixture(scope="module")
def main_faces(analyser, photo):
    """Largest face (with identity) of a testdata photo, cached per module."""
    cache: dict[str, Face] = {}

    def get(name: str) -> Face:
        if name not in cache:
            image = photo(name)
            faces = analyser.faces(image)
            assert faces, name
            cache[name] = analyser.embed(image, faces[:1])[0]
        return cache[name]

    return get


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    y, p, r = np.radians([yaw, pitch, roll])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return rz @ rx @ ry


def _moved(landmarks: np.ndarray, rotation: np.ndarray, scale: float, shift: tuple[float, float, float]):
    centre = landmarks.mean(axis=0)
    return (scale * (landmarks - centre) @ rotation.T + centre + np.array(shift)).astype(np.float32)


# --- identity ---------------------------------------------------------------------------------------


def test_identity_separates_same_from_different_people(analyser, photo, main_faces) -> None:
    """face_glasses_e.png is a crop of the right-hand man in group_3faces.jpg: same person below the
    threshold; every other person in the corpus (the two others in the group photo too) above it."""
    distance = analyser.identity.distance
    glasses = main_faces("face_glasses_e.png").embedding
    group = photo("group_3faces.jpg")
    people = sorted(analyser.faces(group), key=lambda f: float(f.box[0]))
    assert len(people) == 3
    people = analyser.embed(group, people)
    same, *_ = m.identity_distances(people[2].embedding, glasses, glasses, distance)
    others = [float(distance(p.embedding, glasses)) for p in people[:2]]
    others += [
        float(distance(main_faces(name).embedding, glasses))
        for name in ("face_frontal_a.jpg", "face_frontal_b.jpg", "face_lowkey_c.jpg", "face_darkskin_i.jpg")
    ]
    print(f"\nsame person {same:.3f}; different people {np.round(others, 3)}")
    assert same < SAME_PERSON
    assert min(others) > SAME_PERSON
    assert same < min(others) - 0.1  # a clear margin, not a coin toss at the threshold


def test_retrieval_broken_swap_scores_zero_and_source_scores_one(analyser, main_faces) -> None:
    """Gallery of every person in a small run. Output = target: the nearest identity is the target,
    not the source (top-1 miss); output = the source photo: top-1 hit."""
    distance = analyser.identity.distance
    names = ["face_frontal_a.jpg", "face_frontal_b.jpg", "face_glasses_e.png", "face_lowkey_c.jpg"]
    gallery = np.stack([main_faces(n).embedding for n in names])
    for source, target in [(0, 1), (1, 0), (2, 3), (3, 2)]:
        broken = m.identity_retrieval(gallery[target], gallery, source, distance)
        correct = m.identity_retrieval(main_faces(names[source]).embedding, gallery, source, distance)
        assert not broken.top1 and broken.nearest == target
        assert correct.top1 and correct.top5 and correct.distance_to_true == pytest.approx(0.0, abs=1e-6)


def test_retrieval_ties_count_against_the_swap() -> None:
    gallery = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    result = m.identity_retrieval(np.array([1.0, 0.0]), gallery, 1, _euclidean)
    assert result.rank == 1 and not result.top1 and result.top5


def _euclidean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.linalg.norm(np.asarray(a, float) - np.asarray(b, float), axis=-1)


# --- pose -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "axis"), [("face_profile_f.jpg", 0), ("face_roll_h.png", 2)])
def test_pose_error_against_mirror_is_large_and_against_itself_zero(analyser, photo, name, axis) -> None:
    image = photo(name)
    face = analyser.faces(image)[0]
    mirrored = analyser.faces(np.ascontiguousarray(image[:, ::-1]))[0]
    assert np.array_equal(m.pose_error(face.landmarks, face.landmarks), np.zeros(3))
    error = m.pose_error(face.landmarks, mirrored.landmarks)
    print(f"\n{name}: pose error against its mirror (yaw, pitch, roll) {np.round(error, 1)}")
    assert error[axis] > 30.0  # yaw of the near-profile face, roll of the tilted one flip sign


def test_pose_error_reads_a_known_rotation(main_faces) -> None:
    landmarks = main_faces("face_frontal_b.jpg").landmarks
    turned = _moved(landmarks, _rotation(20.0, 0.0, 0.0), 1.0, (0, 0, 0))
    yaw, pitch, roll = m.pose_error(turned, landmarks)
    assert 15.0 < yaw < 25.0 and pitch < 3.0 and roll < 3.0


# --- expression and gaze ----------------------------------------------------------------------------


def test_expression_error_ignores_pose_and_scale(main_faces) -> None:
    landmarks = main_faces("face_frontal_a.jpg").landmarks
    assert m.expression_error(landmarks, landmarks)["total"] == pytest.approx(0.0, abs=1e-9)
    moved = _moved(landmarks, _rotation(25.0, -10.0, 15.0), 0.6, (40.0, -25.0, 5.0))
    assert m.expression_error(moved, landmarks)["total"] < 1e-6


def test_expression_error_sees_an_opened_mouth(main_faces) -> None:
    landmarks = main_faces("face_frontal_b.jpg").landmarks.astype(np.float64)
    opened = landmarks.copy()
    lower_lip = [14, 87, 178, 88, 95, 317, 402, 318, 324, 17, 84, 181, 91, 146, 314, 405, 321, 375]
    opened[lower_lip, 1] += 0.15 * m.interocular(landmarks)
    error = m.expression_error(opened, landmarks)
    assert error["mouth"] > 0.03
    assert error["eyes"] < 0.01 and error["brows"] < 0.01
    # a real closed mouth against a real open one (face_lookup_g is open-mouthed)
    open_face = main_faces("face_lookup_g.jpg").landmarks
    assert m.expression_error(open_face, landmarks)["mouth"] > error["mouth"] / 2


def test_gaze_error_follows_the_iris_and_ignores_head_motion(main_faces) -> None:
    landmarks = main_faces("face_frontal_a.jpg").landmarks.astype(np.float64)
    assert m.gaze_error(landmarks, landmarks) == 0.0
    moved = _moved(landmarks, _rotation(0.0, 0.0, 20.0), 1.3, (15.0, 8.0, 0.0))
    assert m.gaze_error(moved, landmarks) < 1e-6
    looked = landmarks.copy()
    width = np.linalg.norm(landmarks[33, :2] - landmarks[133, :2])
    looked[468:478, 0] += 0.2 * width  # both irises move a fifth of an eye width sideways
    assert m.gaze_error(looked, landmarks) == pytest.approx(0.2, rel=0.1)


# --- background -------------------------------------------------------------------------------------


def test_background_scores_untouched_and_touched(photo, main_faces) -> None:
    image = np.asarray(photo("face_frontal_a.jpg"))
    face = main_faces("face_frontal_a.jpg")
    assert m.background_scores(image, image.copy(), [face.landmarks]) == (m.PSNR_CAP_DB, 1.0)
    inside = m.face_region(image.shape, [face.landmarks], extra_px=0)  # the SSIM window's room excluded
    edited = image.copy()
    edited[inside] = 255 - edited[inside]  # the whole face changes: background still untouched
    assert m.background_scores(image, edited, [face.landmarks]) == (
        m.PSNR_CAP_DB,
        pytest.approx(1.0, abs=1e-5),
    )
    rng = np.random.default_rng(0)
    noisy = np.clip(image + rng.normal(0, 5, image.shape), 0, 255).astype(np.uint8)
    psnr, ssim = m.background_scores(image, noisy, [face.landmarks])
    assert 32.0 < psnr < 36.0 and 0.5 < ssim < 0.99


def test_ssim_matches_scikit_image(photo) -> None:
    from skimage import metrics

    image = np.asarray(photo("face_frontal_b.jpg"))[100:300, 100:340]
    rng = np.random.default_rng(1)
    other = np.clip(image * 0.9 + rng.normal(0, 8, image.shape) + 10, 0, 255).astype(np.uint8)
    _, reference = metrics.structural_similarity(
        image,
        other,
        channel_axis=2,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=255,
        full=True,
    )
    ours = m.ssim_map(image, other)
    inner = (slice(6, -6), slice(6, -6))  # borders are padded differently
    np.testing.assert_allclose(ours[inner], reference.mean(axis=2)[inner], atol=1e-6)


# --- video ------------------------------------------------------------------------------------------


def test_jitter_is_zero_for_steady_motion_and_grows_with_noise(main_faces) -> None:
    landmarks = main_faces("face_frontal_a.jpg").landmarks.astype(np.float64)
    steady = [landmarks + np.array([2.0 * t, 1.0 * t, 0.0]) for t in range(10)]  # constant velocity
    assert m.landmark_jitter(steady) == pytest.approx(0.0, abs=1e-9)
    rng = np.random.default_rng(2)
    size = m.face_size(landmarks)
    noisy = [p + rng.normal(0, 0.01 * size, p.shape) for p in steady]
    jitter = m.landmark_jitter(noisy)
    assert 0.01 < jitter < 0.05  # second difference of 1 % noise: about 2.45 % of the face size
    assert m.ratio(jitter, jitter) == 1.0 and np.isnan(m.ratio(jitter, 0.0))
    assert np.isnan(m.landmark_jitter([landmarks, None, landmarks]))


def test_flicker_and_residual_flicker() -> None:
    target = [100.0, 110.0, 120.0, 130.0]  # the scene brightens steadily
    same_change = [90.0, 100.0, 110.0, 120.0]  # the swap follows it
    flickering = [90.0, 105.0, 110.0, 125.0]
    assert m.flicker(target) == 10.0
    assert m.residual_flicker(same_change, target) == 0.0
    assert m.residual_flicker(flickering, target) == 5.0
    assert np.isnan(m.flicker([None, 1.0, None]))
    assert m.is_reverted(0.7, 0.3) and not m.is_reverted(0.4, 0.8)
