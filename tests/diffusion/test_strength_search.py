"""--strength auto's search with the real analyser and dlib identity scorer on real photos: every
candidate is scored, a candidate without a face or with a moved pose fails, and the passing one closest
to the source's identity is kept."""

import numpy as np

from faceforge.diffusion.strength import CandidateJudge, search_strength


def _embedding(analyser, image: np.ndarray) -> np.ndarray:
    return np.asarray(analyser.embed(image, analyser.faces(image)[:1])[0].embedding, np.float32)


def test_search_keeps_the_closest_identity_among_passing_candidates(analyser, photo) -> None:
    source = _embedding(analyser, photo("face_frontal_a.jpg"))
    target = analyser.faces(photo("face_frontal_a.jpg"))[0].landmarks
    outputs = {
        0.3: photo("face_frontal_b.jpg"),  # another person, frontal
        0.4: np.full((256, 256, 3), 127, np.uint8),  # no face
        0.5: photo("face_frontal_a.jpg"),  # the source person in the target's pose
        0.7: photo("face_profile_f.jpg"),  # a turned head
    }
    rendered: list[float] = []

    def render(strength: float) -> np.ndarray:
        rendered.append(strength)
        return outputs[strength]

    judge = CandidateJudge(analyser, max_pose_change=8.0)
    choice = search_strength(list(outputs), render, lambda s, image: judge(s, image, source, target))
    assert rendered == [0.3, 0.4, 0.5, 0.7]
    by_strength = {c.strength: c for c in choice.candidates}
    assert by_strength[0.4].identity_distance is None and not by_strength[0.4].passed
    assert by_strength[0.7].pose_change is not None and by_strength[0.7].pose_change > 8.0
    assert not by_strength[0.7].passed
    assert by_strength[0.5].identity_distance < by_strength[0.3].identity_distance
    assert choice.chosen is by_strength[0.5]
    summary = choice.summary()
    assert all(f"{s:g}:" in summary for s in outputs) and summary.endswith("kept 0.5")


def test_a_moved_pose_loses_even_with_the_best_identity(analyser, photo) -> None:
    """The profile photo is the source itself (distance 0) but its head is turned away from the frontal
    target, so the other person in the target's pose is kept; with no passing candidate none is."""
    profile = photo("face_profile_f.jpg")
    source = _embedding(analyser, profile)
    target = analyser.faces(photo("face_frontal_b.jpg"))[0].landmarks
    outputs = {0.3: photo("face_frontal_b.jpg"), 0.6: profile}
    judge = CandidateJudge(analyser, max_pose_change=8.0)
    choice = search_strength(list(outputs), outputs.__getitem__, lambda s, im: judge(s, im, source, target))
    by_strength = {c.strength: c for c in choice.candidates}
    assert by_strength[0.6].identity_distance < by_strength[0.3].identity_distance
    assert choice.chosen is by_strength[0.3]
    none = search_strength([0.6], outputs.__getitem__, lambda s, im: judge(s, im, source, target))
    assert none.chosen is None and none.summary().endswith("none passed")
