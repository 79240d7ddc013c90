"""The mesh swapper's options, apart from the swapper (:mod:`faceforge.swappers.mesh` imports OpenCV and
SciPy), so the swap CLI's --help, ``config show`` and the UI read their declarations without loading it."""

from __future__ import annotations

from dataclasses import dataclass

from faceforge.errors import OptionError
from faceforge.options import option


@dataclass(frozen=True, slots=True)
class MeshSwapOptions:
    """The mesh swapper's own options (``swappers.mesh.*`` on the command line and in config files)."""

    crop_size: int = option(256, help="Side of the aligned face crop the swap works on, in pixels.", min=64)
    # 1.0 by measurement on the 56 ordered pairs of the eight single-face photos: dlib identity distance to
    # the source 0.511 at 28c2d1a (outline only, 0.5) -> 0.469 (43 pairs closer, 9 further); before the
    # symmetric fit and the forehead rule, 0.5 / 0.75 / 1.0 gave 0.484 / 0.474 / 0.468. Pose error 1.45 ->
    # 1.41 degrees. The expression metric rises (0.038 -> 0.049 inter-ocular): it counts the source's lip,
    # eye and brow shape as expression.
    shape: float = option(
        1.0,
        help="How far the target's face moves toward the source's identity shape in a pose-free frame: "
        "outline (jaw, chin, face length), eye spacing and shape, brows, nose and lip thickness, with the "
        "target's eye openness, brow raise and mouth opening kept: 0 keeps the target's shape, 1 takes the "
        "source's.",
        min=0.0,
        max=1.5,
    )
    mirror_below: float = option(
        0.5,
        help="A source triangle whose visibility (facing cosine times unhidden share) is below this takes "
        "its texture from its mirror triangle or another source photo, when one shows it better (0: never).",
        min=0.0,
        max=1.0,
    )
    # 45: face_profile_f reads 48 degrees in FaceMesh and its swaps smear the source's side hair over
    # the cheek (docs/contact-sheets/mesh-before-after.jpg); the most turned faces that swap cleanly in
    # testdata read 23 degrees (face_grayscale_d) and 22 in the clips. Nothing between was measured.
    max_yaw: float = option(
        45.0,
        help="Target faces turned further than this (degrees of yaw) are left unswapped and counted as "
        "declined.",
        min=0.0,
        max=90.0,
    )
    margin_ring: float = option(
        0.12, help="The inner ring of surrounding points, beyond the face oval in face radii.", min=0.0
    )
    outer_ring: float = option(
        0.3, help="The outer, fixed ring of surrounding points, beyond the face oval in face radii.", min=0.0
    )

    def __post_init__(self) -> None:
        if self.outer_ring <= self.margin_ring:
            raise OptionError(
                f"outer_ring ({self.outer_ring}) must lie beyond margin_ring ({self.margin_ring})."
            )
