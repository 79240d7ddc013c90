"""StyleGAN2 latent editing: FFHQ alignment, inversion (e4e and optimisation in W+), layer mixing, the
identity-loss swap and paste-back into the original photo. The networks live in ``faceforge.nets``
(``stylegan2``, ``e4e``, ``irse``); see ``docs/latent.md``."""
