"""Ordered polygons of MediaPipe FaceMesh regions, as landmark indices.

MediaPipe publishes its regions as unordered edge sets (for drawing, in
``mediapipe.python.solutions.face_mesh_connections``). Masks need ordered polygons, so each edge set was
walked once into a closed loop and the loops are written out here: importing this module costs nothing,
whereas importing MediaPipe costs about a second (the CLI's ``--help`` must not pay for it).
``tests/compose/test_compose_regions.py`` checks every loop against MediaPipe's edge sets.

Consecutive entries of a polygon (and last-to-first) are edges of its region. Each eyebrow is drawn by
MediaPipe as two open polylines (upper and lower row); its polygon joins them through the two
tessellation edges that link their ends, so every brow segment is still a mesh edge. Loops start at their
smallest index and go on towards its smaller neighbour.
"""

from __future__ import annotations

# fmt: off
FACE_OVAL: tuple[int, ...] = (
    10, 109, 67, 103, 54, 21, 162, 127, 234, 93, 132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400,
    378, 379, 365, 397, 288, 361, 323, 454, 356, 389, 251, 284, 332, 297, 338,
)
MOUTH_OUTER: tuple[int, ...] = (
    0, 37, 39, 40, 185, 61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267,
)
MOUTH_INNER: tuple[int, ...] = (  # the mouth opening, point for point across the lip from MOUTH_OUTER
    13, 82, 81, 80, 191, 78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312,
)
LEFT_EYE: tuple[int, ...] = (
    249, 263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390,
)
RIGHT_EYE: tuple[int, ...] = (
    7, 33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163,
)
LEFT_EYEBROW: tuple[int, ...] = (276, 283, 282, 295, 285, 336, 296, 334, 293, 300)
RIGHT_EYEBROW: tuple[int, ...] = (46, 53, 52, 65, 55, 107, 66, 105, 63, 70)
LEFT_IRIS: tuple[int, ...] = (474, 475, 476, 477)
RIGHT_IRIS: tuple[int, ...] = (469, 470, 471, 472)
# fmt: on
