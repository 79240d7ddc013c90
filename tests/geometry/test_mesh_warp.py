import numpy as np

from faceforge.geometry.mesh_warp import delaunay_triangles, mesh_warp, rasterise_triangles, triangle_areas


def _grid_points(n=6, size=100):
    xs = np.linspace(5, size - 5, n)
    return np.array([(x, y) for y in xs for x in xs], dtype=np.float64)


def _texture(size=100):
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8)


def test_identity_warp_reproduces_the_image_inside_the_mesh():
    points = _grid_points()
    image = _texture()
    warped, coverage = mesh_warp(image, points, points, delaunay_triangles(points), (100, 100))
    inside = coverage > 0
    assert inside[10:90, 10:90].all()
    np.testing.assert_array_equal(warped[inside], image[inside])


def test_translated_points_translate_the_texture():
    points = _grid_points()
    image = _texture()
    moved = points + np.array([7.0, 3.0])
    warped, coverage = mesh_warp(image, points, moved, delaunay_triangles(points), (100, 100))
    np.testing.assert_array_equal(warped[20:80, 20:80], image[17:77, 13:73])
    assert coverage[:8, :].sum() == 0  # nothing is invented above the moved mesh


def test_nearer_triangles_win_where_the_mesh_folds():
    dst = np.array([[10, 10], [90, 10], [50, 90], [10, 12], [90, 12], [50, 92]], dtype=np.float64)
    triangles = np.array([[0, 1, 2], [3, 4, 5]])
    near_first = rasterise_triangles(dst, triangles, (100, 100), depth=np.array([0, 0, 0, 5, 5, 5.0]))
    near_second = rasterise_triangles(dst, triangles, (100, 100), depth=np.array([5, 5, 5, 0, 0, 0.0]))
    assert near_first[50, 50] == 0
    assert near_second[50, 50] == 1


def test_delaunay_drops_degenerate_triangles():
    points = np.array([[0, 0], [10, 0], [20, 0], [10, 10]], dtype=np.float64)
    triangles = delaunay_triangles(points)
    assert len(triangles) == 2
    assert (triangle_areas(points, triangles) > 0).all()
