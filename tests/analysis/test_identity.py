import itertools

import pytest

from faceforge.analysis.identity import DlibIdentityEncoder
from faceforge.errors import WeightsError

# Different people, per SOURCES.md (profile_f, lookup_g and roll_h come from one pose test set and may
# show the same woman, so they are left out of the different-person pairs).
DIFFERENT = [
    "face_frontal_a.jpg",
    "face_frontal_b.jpg",
    "face_lowkey_c.jpg",
    "face_glasses_e.png",
    "face_darkskin_i.jpg",
]


@pytest.fixture(scope="module")
def embeddings(analyser, photo):
    out = {}
    for name in [*DIFFERENT, "group_3faces.jpg"]:
        image = photo(name)
        out[name] = analyser.embed(image, analyser.faces(image))
    return out


def test_different_people_are_far_apart(analyser, embeddings):
    for a, b in itertools.combinations(DIFFERENT, 2):
        distance = analyser.identity.distance(embeddings[a][0].embedding, embeddings[b][0].embedding)
        assert distance > analyser.identity.threshold, (a, b, distance)


def test_the_same_man_is_found_in_the_group_photo(analyser, embeddings):
    # face_glasses_e.png is a crop of the right-hand person of group_3faces.jpg.
    reference = embeddings["face_glasses_e.png"][0].embedding
    group = sorted(embeddings["group_3faces.jpg"], key=lambda f: float(f.box[0]))
    distances = [float(analyser.identity.distance(reference, f.embedding)) for f in group]
    assert distances[2] < 0.4
    assert min(distances[:2]) > analyser.identity.threshold


def test_embeddings_are_batched_and_deterministic(analyser, photo):
    image = photo("group_3faces.jpg")
    faces = analyser.faces(image)
    together = analyser.identity.embed(image, faces)
    alone = analyser.identity.embed(image, faces[1:2])
    assert together.shape == (3, 128)
    assert float(analyser.identity.distance(together[1], alone[0])) < 1e-5


def test_a_missing_or_broken_model_file_is_a_clear_error(tmp_path):
    with pytest.raises(WeightsError, match="missing"):
        DlibIdentityEncoder(tmp_path / "nope.dat")
    broken = tmp_path / "broken.dat"
    broken.write_bytes(b"\x00" * 100)
    with pytest.raises(WeightsError, match="could not be loaded"):
        DlibIdentityEncoder(broken)
