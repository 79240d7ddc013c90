import numpy as np
import pytest

from faceforge.analysis.identity import DlibIdentityEncoder
from faceforge.pipeline.selection import FaceSelector, SelectionOptions
from faceforge.types import Face


def _face(x, size, embedding=None):
    points = np.zeros((478, 3), np.float32)
    points[:, :2] = (x, 0)
    points[1, :2] = (x + size, size)
    return Face(
        box=np.array([x, 0, x + size, size], np.float32), score=1.0, landmarks=points, embedding=embedding
    )


def test_largest_all_and_index_modes():
    faces = [_face(300, 50), _face(0, 80), _face(150, 60)]
    (largest,) = FaceSelector(SelectionOptions("largest")).select(faces)
    assert largest.face is faces[1]
    assert len(FaceSelector(SelectionOptions("all")).select(faces)) == 3
    assert FaceSelector(SelectionOptions("index", face_index=1)).select(faces)[0].face is faces[2]
    assert FaceSelector(SelectionOptions("index", face_index=5)).select(faces) == []
    assert FaceSelector(SelectionOptions("largest")).select([]) == []


def test_reference_mode_maps_each_face_to_the_source_of_its_person():
    a, b, c = np.eye(3, 128, dtype=np.float32)
    selector = FaceSelector(
        SelectionOptions("reference", threshold=0.6), [a, b], DlibIdentityEncoder.distance
    )
    nudge = np.zeros(128, np.float32)
    nudge[5] = 0.2
    faces = [_face(0, 50, a + nudge), _face(100, 50, c), _face(200, 50, b - nudge)]
    chosen = {int(x.face.box[0]): x.source for x in selector.select(faces)}
    assert chosen == {0: 0, 200: 1}


def test_reference_mode_needs_references_and_embeddings():
    with pytest.raises(ValueError):
        FaceSelector(SelectionOptions("reference"))
    selector = FaceSelector(
        SelectionOptions("reference"), [np.zeros(128, np.float32)], DlibIdentityEncoder.distance
    )
    with pytest.raises(ValueError, match="embeddings"):
        selector.select([_face(0, 10)])
