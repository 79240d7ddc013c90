"""Read a state dict without ever unpickling arbitrary objects.

``.safetensors`` files hold only tensors. PyTorch files (``.pth``, ``.pt``, ``.bin``) are pickles and are read
with ``torch.load(weights_only=True)``, whose unpickler accepts tensors and plain containers only; a file
that needs anything else (a pickled model class, a custom object) is refused rather than trusted, because
unpickling it could run any code its author chose.
"""

from __future__ import annotations

import pickle
import re
import zipfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from faceforge.errors import WeightsError

TORCH_SUFFIXES = (".pth", ".pt", ".bin")
SAFETENSORS_SUFFIX = ".safetensors"
_UNSAFE_GLOBAL = re.compile(r"Unsupported global: GLOBAL (\S+)")


def _load_safetensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"The weight file {path} is not readable safetensors ({exc}).") from None


def _load_torch(path: Path) -> object:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        unsafe = _UNSAFE_GLOBAL.search(str(exc))
        if unsafe is None:
            raise WeightsError(f"The weight file {path} is not a readable PyTorch file.") from None
        raise WeightsError(
            f"Loading {path} is refused: it holds a pickled Python object ({unsafe.group(1).rstrip('.')}), "
            "and unpickling it could run arbitrary code; save a plain state dict or safetensors instead."
        ) from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile) as exc:
        raise WeightsError(f"The weight file {path} is not a readable PyTorch file ({exc}).") from None


def load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A flat name -> tensor mapping on the CPU from a ``.safetensors``, ``.pth``, ``.pt`` or ``.bin``."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"The weight file {path} does not exist.")
    suffix = path.suffix.lower()
    if suffix == SAFETENSORS_SUFFIX:
        return _load_safetensors(path)
    if suffix not in TORCH_SUFFIXES:
        raise WeightsError(
            f"{path} is not a state-dict file faceforge reads "
            f"({SAFETENSORS_SUFFIX}, {', '.join(TORCH_SUFFIXES)})."
        )
    loaded = _load_torch(path)
    if not isinstance(loaded, dict):
        raise WeightsError(
            f"The weight file {path} holds a {type(loaded).__name__}, not a mapping of names to tensors."
        )
    strays = [key for key, value in loaded.items() if not (isinstance(key, str) and torch.is_tensor(value))]
    if strays:
        raise WeightsError(
            f"The weight file {path} is not a flat state dict: entry {strays[0]!r} is not a named tensor."
        )
    return dict(loaded)
