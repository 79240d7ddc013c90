"""The options of latent editing, declared once (help, range) for the CLI and config files; no torch here,
so ``faceforge latent --help`` stays light.

:class:`OptimiseOptions` holds the loss weights of inversion and of the identity-loss swap, with the seed's
defaults for each (:data:`INVERT_DEFAULTS`, :data:`SWAP_DEFAULTS`); :class:`MixOptions` the W+ row range and
psi of a mix, with the style and expression presets.
"""

from __future__ import annotations

from dataclasses import dataclass

from faceforge.errors import OptionError
from faceforge.options import check_declared, option


@dataclass(frozen=True, slots=True)
class OptimiseOptions:
    steps: int = option(100, help="Optimisation steps.", min=1, max=100_000)
    lr: float = option(0.01, help="Adam learning rate of the latent and the noise maps.", min=0.0, max=10.0)
    reconstruction: float = option(0.75, help="Weight of the pixel reconstruction loss.", min=0.0)
    perceptual: float = option(0.5, help="Weight of the perceptual loss (offline proxy).", min=0.0)
    identity: float = option(
        0.0, help="Weight of the identity distance to the source.", min=0.0, flag="--identity-loss"
    )
    noise_regularisation: float = option(5e2, help="Weight of the noise autocorrelation penalty.", min=0.0)
    optimise_noise: bool = option(True, help="Optimise the per-layer noise maps along with W+.")

    def __post_init__(self) -> None:
        check_declared(self)
        if self.lr <= 0:
            raise OptionError(f"Option lr must be positive, not {self.lr}.")


INVERT_DEFAULTS = OptimiseOptions()
SWAP_DEFAULTS = OptimiseOptions(reconstruction=0.5, perceptual=1.0, identity=1.5, noise_regularisation=5e5)


@dataclass(frozen=True, slots=True)
class MixOptions:
    first: int = option(8, help="First W+ row (1-based) taken from the reference.", min=1, max=18)
    last: int = option(18, help="Last W+ row (1-based, inclusive) taken from the reference.", min=1, max=18)
    psi: float = option(0.0, help="Share of the person's own rows kept inside the range.", min=0.0, max=1.0)

    def __post_init__(self) -> None:
        check_declared(self)
        if self.first > self.last:
            raise OptionError(
                f"The mixed rows {self.first}-{self.last} are empty: first must not exceed last."
            )


STYLE_TRANSFER = MixOptions(first=8, last=18, psi=0.0)
EXPRESSION_TRANSFER = MixOptions(first=3, last=10, psi=0.5)
PRESETS = {"style": STYLE_TRANSFER, "expression": EXPRESSION_TRANSFER}
