"""W+ latents on disk: ``.safetensors`` with one ``wplus`` tensor [n_latent, D] (and the optimised noise
maps ``noise_i`` when kept) and string metadata (the photo, the generator, how it was made, its scores),
written atomically."""

from __future__ import annotations

from pathlib import Path

from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import Tensor

from faceforge.errors import InputError
from faceforge.media.atomic import atomic_output

SUFFIX = ".safetensors"


def save_latent(
    path: Path, wplus: Tensor, metadata: dict[str, str], noises: list[Tensor] | None = None
) -> None:
    """Write one latent (W+ [n_latent, D]) and its metadata to ``path``."""
    if wplus.ndim != 2:
        raise ValueError(f"save_latent takes one W+ [n_latent, D], got {list(wplus.shape)}")
    tensors = {"wplus": wplus.detach().float().cpu().contiguous()}
    for index, noise in enumerate(noises or []):
        tensors[f"noise_{index}"] = noise.detach().float().cpu().contiguous()
    with atomic_output(Path(path)) as temp:
        save_file(tensors, str(temp), metadata={"format": "faceforge-latent", **metadata})


def load_latent(path: Path) -> tuple[Tensor, list[Tensor], dict[str, str]]:
    """The W+ [n_latent, D], the noise maps (possibly none) and the metadata of a latent file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"The latent file {path} does not exist.")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = dict(handle.metadata() or {})
            keys = set(handle.keys())
            if metadata.get("format") != "faceforge-latent" or "wplus" not in keys:
                raise InputError(f"{path} is not a faceforge latent file (run `faceforge latent invert`).")
            wplus = handle.get_tensor("wplus")
            noises: list[Tensor] = []
            while f"noise_{len(noises)}" in keys:
                noises.append(handle.get_tensor(f"noise_{len(noises)}"))
    except (SafetensorError, OSError) as exc:
        raise InputError(f"The latent file {path} is not readable ({exc}).") from None
    return wplus, noises, metadata


def check_rows(wplus: Tensor, n_latent: int, dim: int, path: Path) -> None:
    """A latent made for another generator is one sentence."""
    if tuple(wplus.shape) != (n_latent, dim):
        raise InputError(
            f"The latent {path} is {list(wplus.shape)}, but this generator takes [{n_latent}, {dim}]: "
            "it was made with another generator."
        )
