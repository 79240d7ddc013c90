"""The input checks every batched swapper shares (:mod:`faceforge.swappers.base`)."""

from __future__ import annotations

import numpy as np
import pytest

from faceforge.errors import InputError
from faceforge.swappers.base import require_views, stacked_crops
from faceforge.types import AlignedFace, Face, SourceIdentity


def _crop(shape: tuple[int, ...], value: int) -> AlignedFace:
    face = Face(box=np.zeros(4), score=1.0, landmarks=np.zeros((478, 3), np.float32))
    image = np.full(shape, value, np.uint8)
    return AlignedFace(image=image, matrix=np.eye(2, 3), landmarks=face.landmarks, face=face)


def test_crops_of_the_swappers_size_are_stacked_in_order():
    batch = stacked_crops([_crop((8, 8, 3), 1), _crop((8, 8, 3), 2)], 8)
    assert batch.shape == (2, 8, 8, 3) and batch.dtype == np.uint8
    assert batch[:, 0, 0, 0].tolist() == [1, 2]


@pytest.mark.parametrize("odd", [(16, 16, 3), (8, 8), (8, 8, 4)])
def test_a_crop_of_another_size_or_layout_is_refused_among_good_ones(odd):
    with pytest.raises(ValueError, match=r"Expected 8-px RGB aligned crops, got \(" + str(odd[0])):
        stacked_crops([_crop((8, 8, 3), 0), _crop(odd, 0)], 8)


def test_a_source_without_photos_is_refused_by_name():
    one = _crop((8, 8, 3), 0)
    require_views(SourceIdentity(views=((one.image, one.face),)))
    with pytest.raises(InputError, match="The person B has no photo"):
        require_views(SourceIdentity(views=(), name="person B"))
