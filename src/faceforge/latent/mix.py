"""Mixing W+ latents by layer ranges: style transfer (the fine rows) and expression transfer (the middle
rows), as in the latent-editing papers' tables.

Rows are numbered from 1 as in the papers and ``docs/latent.md``; ``first..last`` is inclusive, and a
range past the generator's last row stops at it (14 rows at 256 px, 18 at 1024 px). Inside the range a
row becomes ``psi · person + (1 − psi) · reference``: psi 0 takes the reference's row, 0.5 the midpoint.
"""

from __future__ import annotations

import torch
from torch import Tensor

from faceforge.errors import OptionError
from faceforge.latent.options import MixOptions


def mixed_rows(options: MixOptions, n_latent: int) -> range:
    """The 0-based rows a mix replaces in a W+ of ``n_latent`` rows."""
    if options.first > n_latent:
        raise OptionError(f"Row {options.first} is past the generator's {n_latent} W+ rows.")
    return range(options.first - 1, min(options.last, n_latent))


def mix_latents(person: Tensor, reference: Tensor, options: MixOptions) -> Tensor:
    """``person`` with the rows of ``options`` blended toward ``reference`` (both [..., n_latent, D])."""
    if person.shape != reference.shape:
        raise OptionError(
            f"Latents of shapes {list(person.shape)} and {list(reference.shape)} cannot be mixed."
        )
    rows = mixed_rows(options, person.shape[-2])
    mixed = person.clone()
    blend = (
        options.psi * person[..., rows.start : rows.stop, :]
        + (1.0 - options.psi) * reference[..., rows.start : rows.stop, :]
    )
    mixed[..., rows.start : rows.stop, :] = blend
    return mixed


def mix_grid(people: Tensor, references: Tensor, options: MixOptions) -> Tensor:
    """Every person mixed with every reference: [P, R, n_latent, D] (rows: people, columns: references)."""
    grid = torch.stack([mix_latents(people, ref.expand_as(people), options) for ref in references], dim=1)
    return grid
