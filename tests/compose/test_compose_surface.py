"""The smooth-surface fit behind the shading transfer and the occluder masker, on real skin."""

from __future__ import annotations

import numpy as np
import pytest

from faceforge.compose.color import to_lab
from faceforge.compose.masks import skin_mask
from faceforge.compose.surface import _least_squares, polynomial_basis


def _skin_system(sample, degree: int) -> tuple[np.ndarray, np.ndarray]:
    """The basis and L*a*b* values of a real face's bare-skin pixels, as fit_surface builds them."""
    crop = sample.aligned.image
    ys, xs = np.nonzero(skin_mask(sample.aligned.landmarks, crop.shape[:2]))
    basis = polynomial_basis(ys.astype(np.float32), xs.astype(np.float32), 0.5 * crop.shape[0], degree)
    return basis, to_lab(crop)[ys, xs]


@pytest.mark.parametrize("degree", [1, 2])
@pytest.mark.parametrize("name", ["face_frontal_a", "face_lookup_g", "face_grayscale_d"])
def test_normal_equations_give_lstsq_s_surface(samples, name: str, degree: int) -> None:
    """The float64 normal equations solve the same least-squares problem as ``np.linalg.lstsq``: the
    fitted surfaces agree to a thousandth of an L*a*b* unit over the skin (far below one grey level)."""
    basis, values = _skin_system(samples[name], degree)
    assert len(values) > 5000
    expected, *_ = np.linalg.lstsq(basis.astype(np.float64), values.astype(np.float64), rcond=None)
    got = _least_squares(basis, values)
    assert got.dtype == np.float32 and got.shape == (basis.shape[1], 3)
    np.testing.assert_allclose(basis @ got, basis @ expected, atol=1e-3)


def test_singular_system_gets_the_minimum_norm_solution(samples) -> None:
    """Samples on one row leave the vertical terms undetermined: like lstsq, the solve returns the
    minimum-norm fit instead of failing."""
    basis, values = _skin_system(samples["face_frontal_a"], 2)
    row = basis[:, 2] == basis[len(basis) // 2, 2]
    assert np.count_nonzero(row) >= 64
    expected, *_ = np.linalg.lstsq(basis[row].astype(np.float64), values[row].astype(np.float64), rcond=None)
    got = _least_squares(basis[row], values[row])
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(basis[row] @ got, basis[row] @ expected, atol=1e-2)
    np.testing.assert_allclose(got, expected, atol=1e-2)
