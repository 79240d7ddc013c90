"""Read weight files without ever unpickling arbitrary objects, and refuse weights that cannot be right.

``.safetensors`` files hold only tensors. PyTorch files (``.pth``, ``.pt``, ``.bin``, ``.ckpt``) are
pickles and are read with ``torch.load(weights_only=True)``, whose unpickler accepts tensors and plain
containers only. A file that needs a Python class is refused with the class named (found by
:mod:`faceforge.weights.pickles`, which reads the opcodes without running them), because unpickling it
could run any code its author chose, unless the caller passes that class in ``allow``: e4e checkpoints
carry an ``argparse.Namespace`` of their training options, for instance, and their loader passes
``allow=(argparse.Namespace,)``.

Weights that load but cannot be right are refused too: a floating tensor holding NaN or infinity, and
an integer tensor where a network keeps floats (a generator of integers swaps a featureless blob).
"""

from __future__ import annotations

import pickle
import warnings
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from faceforge.errors import WeightsError
from faceforge.weights.pickles import class_name, unsafe_globals

TORCH_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt")
SAFETENSORS_SUFFIX = ".safetensors"
#: Integer tensors a network legitimately keeps (BatchNorm's update counter).
INTEGER_KEYS = ("num_batches_tracked",)


def _load_safetensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"The weight file {path} is not readable safetensors ({exc}).") from None


def _refusal(path: Path, unsafe: list[str]) -> WeightsError:
    names = ", ".join(unsafe[:5]) + (f" and {len(unsafe) - 5} more" if len(unsafe) > 5 else "")
    what = "a pickled Python object" if len(unsafe) == 1 else "pickled Python objects"
    return WeightsError(
        f"Loading {path} is refused: it holds {what} ({names}), and unpickling it could run arbitrary "
        "code; save a plain state dict or safetensors instead."
    )


def load_checkpoint(path: Path, allow: Sequence[type] = (), what: str = "weight file") -> object:
    """What a PyTorch file holds (tensors in plain containers), loaded on the CPU with torch's weights-only
    unpickler. Python classes inside are refused with their names unless listed in ``allow``; no other
    class is ever unpickled. Raises WeightsError with one sentence for a missing, unreadable or refused
    file; ``what`` names the file in it ("The training state ...")."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"The {what} {path} does not exist.")
    allowed = {class_name(cls) for cls in allow}
    try:
        unsafe = unsafe_globals(path, allowed)
    except (OSError, zipfile.BadZipFile, RuntimeError) as exc:
        raise WeightsError(f"The {what} {path} is not a readable PyTorch file ({exc}).") from None
    if unsafe:
        raise _refusal(path, unsafe)
    try:
        with torch.serialization.safe_globals(list(allow)), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        # torch's own reason would advise weights_only=False: never passed on.
        raise WeightsError(
            f"The {what} {path} is not a readable PyTorch file (a pickle torch's safe loader cannot read; "
            "a plain pickle.dump file is one); save it with torch.save or as safetensors."
        ) from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as exc:
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise WeightsError(f"The {what} {path} is not a readable PyTorch file ({reason}).") from None


def check_weight_values(state: Mapping[str, torch.Tensor], path: Path) -> None:
    """Refuse a state dict with a non-finite floating tensor, or an integer (or boolean) tensor other than
    the counters of :data:`INTEGER_KEYS`, naming the first such entry."""
    for key, tensor in state.items():
        if tensor.is_floating_point() or tensor.is_complex():
            if tensor.numel() and not bool(torch.isfinite(tensor).all()):
                raise WeightsError(
                    f"The weight file {path} is unusable: '{key}' holds NaN or infinite values "
                    "(a diverged or damaged model)."
                )
        elif key.rsplit(".", 1)[-1] not in INTEGER_KEYS:
            raise WeightsError(
                f"The weight file {path} is unusable: '{key}' is {str(tensor.dtype).removeprefix('torch.')}, "
                "but network weights are floating point."
            )


def load_state_dict(path: Path, allow: Sequence[type] = ()) -> dict[str, torch.Tensor]:
    """A flat name -> tensor mapping on the CPU from a ``.safetensors``, ``.pth``, ``.pt``, ``.bin`` or
    ``.ckpt`` file, its values checked (:func:`check_weight_values`). ``allow`` as in :func:`load_checkpoint`.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"The weight file {path} does not exist.")
    suffix = path.suffix.lower()
    if suffix == SAFETENSORS_SUFFIX:
        state = _load_safetensors(path)
    elif suffix in TORCH_SUFFIXES:
        loaded = load_checkpoint(path, allow)
        if not isinstance(loaded, dict):
            raise WeightsError(
                f"The weight file {path} holds a {type(loaded).__name__}, not a mapping of names to tensors."
            )
        strays = [k for k, v in loaded.items() if not (isinstance(k, str) and torch.is_tensor(v))]
        if strays:
            raise WeightsError(
                f"The weight file {path} is not a flat state dict: entry {strays[0]!r} is not a named tensor."
            )
        state = dict(loaded)
    else:
        raise WeightsError(
            f"{path} is not a state-dict file faceforge reads "
            f"({SAFETENSORS_SUFFIX}, {', '.join(TORCH_SUFFIXES)})."
        )
    check_weight_values(state, path)
    return state
