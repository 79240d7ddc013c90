"""Reading a one-shot model folder: what ``faceforge train-oneshot`` writes and ``--swapper ghost --weights
MODEL_DIR`` reads.

A model folder is a :class:`~faceforge.models.folder.ModelFolder` (``checkpoint.json``, ``saves/``,
``previews/``, ``logs/``) whose ``config.json`` reads::

    {"format": "faceforge-oneshot", "version": 1,
     "generator": AEINetConfig.to_dict(),
     "identity": {"encoder": "dlib" | "arcface", "dim": 128 | 512, "weights": name, file or null},
     "crop": {"size": 256, "poses": true | false},
     "train": {... the OneshotConfig of the run ...}}

Each save's ``model.safetensors`` holds the generator's state under ``G.`` and the discriminator's under
``D.``; ``state.pt`` the optimisers, schedule, stage and data position (only the trainer reads it, see
:mod:`faceforge.training.oneshot.model_io`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import Tensor

from faceforge.errors import InputError, WeightsError
from faceforge.models.folder import MODEL_FILE, ModelFolder, load_weights
from faceforge.nets.aeinet import AEINet, AEINetConfig

FORMAT = "faceforge-oneshot"
VERSION = 1
GENERATOR_PREFIX = "G."
DISCRIMINATOR_PREFIX = "D."


def unprefixed(weights: Mapping[str, Tensor], prefix: str) -> dict[str, Tensor]:
    """The entries of ``weights`` under ``prefix``, with the prefix taken off."""
    return {key[len(prefix) :]: value for key, value in weights.items() if key.startswith(prefix)}


def is_oneshot_folder(path: Path) -> bool:
    """Whether ``path`` is a folder whose ``config.json`` says it is a one-shot model folder."""
    folder = ModelFolder(Path(path))
    if not folder.model_dir.is_dir() or not folder.config_path.is_file():
        return False
    try:
        config = folder.read_config()
    except InputError:
        return False
    return config.get("format") == FORMAT


def read_oneshot_config(model_dir: Path) -> dict[str, Any]:
    """``config.json`` of a one-shot model folder, checked for its format and version."""
    config = ModelFolder(Path(model_dir)).read_config()
    if config.get("format") != FORMAT:
        raise InputError(f"{model_dir} is not a one-shot model folder (made by `faceforge train-oneshot`).")
    if int(config.get("version", 0)) > VERSION:
        raise InputError(f"{model_dir} was written by a newer faceforge; update faceforge to read it.")
    for section in ("generator", "identity", "crop"):
        if not isinstance(config.get(section), dict):
            raise InputError(f"{model_dir}/config.json lacks its '{section}' section.")
    return config


def load_oneshot_generator(model_dir: Path, which: str = "latest") -> tuple[AEINet, dict[str, Any]]:
    """The generator of a save (``latest``, ``best``, ``snapshot`` or a save's name) in eval mode, on the
    CPU, with the folder's ``identity`` section (which encoder embeds the source and its size)."""
    model_dir = Path(model_dir)
    config = read_oneshot_config(model_dir)
    try:
        layout = AEINetConfig.from_dict(config["generator"])
    except (TypeError, ValueError) as exc:
        raise InputError(f"{model_dir}/config.json has an unusable generator section ({exc}).") from None
    path = ModelFolder(model_dir).resolve(which) / MODEL_FILE
    state = unprefixed(load_weights(path), GENERATOR_PREFIX)
    model = AEINet(layout)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError:
        raise WeightsError(
            f"The generator weights in {path} do not match the layout its config.json describes."
        ) from None
    return model.eval(), dict(config["identity"])
