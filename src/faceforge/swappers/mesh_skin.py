"""Which triangles of a source photo's face mesh actually show the source's skin.

FaceMesh fits its face oval to the shape of a head, not to what the photo shows: on the temples, the
forehead and the cheeks by the ears the oval often covers hair (a fringe, hair falling by the cheek, a
sideburn), the shadow of a turned head's far side, or background. Geometry alone (visibility) cannot
see that; the pixels can. The skin of the source's own face centre (nose, inner cheeks, mid forehead,
well lit and never covered by hair) is the reference; a triangle on the outer part of the face whose
colour lies far from it is not skin, and the swapper takes its texture from elsewhere (its mirror
triangle, another photo, or the target's own skin).

Beards are left alone: only triangles above the mouth are tested, where hair and background fall. And
hair and background come in from the oval's edge: a patch of foreign colour that does not reach the
oval (make-up around an eye, a highlight on the cheek) is the source's own skin and is kept.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from faceforge.geometry.mesh_shape import protected_points
from faceforge.geometry.mesh_topology import FACE_OVAL

# Reference skin: triangles whose centre lies within this share of the oval's radius (pose-free layout).
_CENTRE = 0.55
# Tested: triangles whose centre lies beyond this share of the oval's radius and above the mouth corners.
_OUTER = 0.6
# Colour distance (robust standard deviations of the reference skin, per Lab channel) at which a triangle
# starts to count as not skin, and at which it counts as not skin at all.
_NEAR, _FAR = 4.0, 7.0
# Floors of the reference's spread per Lab channel (8-bit Lab units): a very even face must not make
# every shading change look foreign.
_SPREAD_FLOOR = np.array([6.0, 3.0, 3.0])
# Where in each triangle its colour is sampled: the centre and halfway from it to each corner.
_SAMPLES = np.array([[1, 1, 1], [4, 1, 1], [1, 4, 1], [1, 1, 4]], dtype=np.float64) / np.array(
    [[3], [6], [6], [6]]
)


def triangle_colours(image: np.ndarray, points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Lab colours ``(T, 4, 3)`` of each triangle of ``points`` ``(N, 2)`` in ``image`` (uint8 RGB) at
    four points inside it (its centre and halfway to each corner), on a lightly blurred copy."""
    lab = cv2.cvtColor(cv2.GaussianBlur(image, (0, 0), sigmaX=1.5), cv2.COLOR_RGB2LAB).astype(np.float32)
    corners = points[triangles]  # (T, 3, 2)
    where = np.einsum("sk,tkd->tsd", _SAMPLES, corners)  # (T, 4, 2)
    x = np.clip(np.round(where[..., 0]).astype(np.int64), 0, image.shape[1] - 1)
    y = np.clip(np.round(where[..., 1]).astype(np.int64), 0, image.shape[0] - 1)
    return lab[y, x]


def triangle_skin(
    image: np.ndarray, points: np.ndarray, triangles: np.ndarray, layout: np.ndarray, facing: np.ndarray
) -> np.ndarray:
    """Skin likelihood ``(T,)`` in [0, 1] of each face triangle of one source view: 1 where the triangle
    shows skin like the face's centre (or is not tested: features, the centre, below the mouth), falling
    to 0 where its colour is far from it. ``layout`` is the tidy frontal 2-D layout the triangulation was
    made on (:func:`~faceforge.geometry.mesh_topology.face_layout`), ``facing`` each triangle's
    visibility in this view (only well-seen centre triangles make the reference)."""
    colours = triangle_colours(image, points, triangles)
    oval = layout[list(FACE_OVAL)]
    centre = oval.mean(axis=0)
    oval_angle = np.arctan2(oval[:, 1] - centre[1], oval[:, 0] - centre[0])
    order = np.argsort(oval_angle)
    oval_radius = np.hypot(*(oval - centre).T)[order]
    middle = layout[triangles].mean(axis=1) - centre
    angle = np.arctan2(middle[:, 1], middle[:, 0])
    radius = np.hypot(middle[:, 0], middle[:, 1]) / np.interp(
        angle, oval_angle[order], oval_radius, period=2 * np.pi
    )
    features = np.isin(triangles, protected_points()).any(axis=1)
    reference = (radius < _CENTRE) & ~features & (facing > 0.6)
    skin = np.ones(len(triangles))
    if reference.sum() < 8:  # too little clear skin to judge by
        return skin
    samples = colours[reference].reshape(-1, 3)
    median = np.median(samples, axis=0)
    spread = np.maximum(1.4826 * np.median(np.abs(samples - median), axis=0), _SPREAD_FLOOR)
    # The farthest of a triangle's samples: hair along the oval covers only one side of a thin triangle.
    distance = np.linalg.norm((colours - median) / spread, axis=2).max(axis=1)
    mouth_y = layout[[61, 291], 1].mean()
    tested = (radius > _OUTER) & ~features & (layout[triangles][:, :, 1].mean(axis=1) < mouth_y)
    skin[tested] = np.clip((_FAR - distance[tested]) / (_FAR - _NEAR), 0.0, 1.0)
    skin[~_reaching_the_oval(triangles, skin < 1.0)] = 1.0
    # Spread each verdict to the triangles around it (a corner takes its least skin-like triangle, a
    # triangle the mean of its corners): thin triangles along a hair line otherwise alternate between
    # skin and not, a sawtooth of source and replacement texture.
    corner = np.ones(int(triangles.max()) + 1)
    np.minimum.at(corner, triangles.ravel(), np.repeat(skin, 3))
    skin[tested] = corner[triangles[tested]].mean(axis=1)
    return skin


def _reaching_the_oval(triangles: np.ndarray, foreign: np.ndarray) -> np.ndarray:
    """``(T,)`` bool: the ``foreign`` triangles joined (through foreign triangles sharing a corner) to one
    with a corner on the face oval."""
    chosen = np.flatnonzero(foreign)
    if len(chosen) == 0:
        return foreign
    corners = triangles[chosen]
    # A bipartite graph of the chosen triangles (0..n-1) and the mesh points (n..): its components are the
    # patches of foreign triangles that share a corner.
    count, points = len(chosen), int(triangles.max()) + 1
    rows = np.repeat(np.arange(count), 3)
    graph = coo_matrix((np.ones(rows.size), (rows, count + corners.ravel())), shape=(count + points,) * 2)
    _, labels = connected_components(graph, directed=False)
    on_oval = np.isin(corners, list(FACE_OVAL)).any(axis=1)
    reaching = np.isin(labels[:count], labels[:count][on_oval])
    out = np.zeros_like(foreign)
    out[chosen[reaching]] = True
    return out
