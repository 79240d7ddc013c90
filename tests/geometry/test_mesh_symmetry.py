import numpy as np

from faceforge.geometry.mesh_symmetry import MESH_MIRROR, derive_mirror_map
from faceforge.geometry.mesh_topology import FACE_OVAL, face_layout, face_triangles


def test_the_mirror_map_is_an_involution_derived_from_a_frontal_face(analyser, photo):
    assert (MESH_MIRROR[MESH_MIRROR] == np.arange(468)).all()
    assert 20 <= int((np.arange(468) == MESH_MIRROR).sum()) <= 40  # the midline points
    landmarks = analyser.faces(photo("face_frontal_a.jpg"))[0].landmarks
    np.testing.assert_array_equal(derive_mirror_map(landmarks), MESH_MIRROR)


def test_the_face_triangulation_is_a_disk_bounded_by_the_oval(analyser, photo):
    landmarks = analyser.faces(photo("face_grayscale_d.jpg"))[0].landmarks
    triangles = face_triangles(face_layout(landmarks))
    assert len(triangles) == 898
    edges = {tuple(sorted((int(t[i]), int(t[(i + 1) % 3])))) for t in triangles for i in range(3)}
    oval = list(FACE_OVAL)
    assert all(tuple(sorted((oval[i], oval[(i + 1) % 36]))) in edges for i in range(36))
