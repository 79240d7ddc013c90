"""``--enhance face=MODEL_DIR``: a restorer trained by ``faceforge train-restorer``, as a face model.

The model folder (:mod:`faceforge.models.folder` layout) records the network's shape and the crop it was
trained on (the faceset's template and side); the face enhancer lays faces out that way before the
network sees them. Inference only: nothing from :mod:`faceforge.training` is imported.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from faceforge.enhance.restorer_net import RestorerNet, RestorerShape
from faceforge.errors import InputError
from faceforge.geometry.alignment import TEMPLATES, Template
from faceforge.models.folder import MODEL_FILE, ModelFolder, load_weights
from faceforge.swappers.base import release_models

FORMAT = "faceforge-restorer"
VERSION = 1


def pick_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class RestorerModel:
    """A :class:`~faceforge.enhance.face.FaceModel` running a trained :class:`RestorerNet`."""

    def __init__(self, model_dir: Path, device: str = "auto", checkpoint: str = "latest") -> None:
        folder = ModelFolder(model_dir)
        config = folder.read_config()
        if config.get("format") != FORMAT or int(config.get("version", 0)) > VERSION:
            raise InputError(f"{model_dir} is not a restorer model folder (from faceforge train-restorer).")
        crop = config["crop"]
        if crop["template"] not in TEMPLATES:
            raise InputError(f"{model_dir} was trained on '{crop['template']}' crops, which faceforge lacks.")
        self.template: Template = TEMPLATES[crop["template"]]
        self.size = int(crop["size"])
        self.device = pick_device(device)
        self.net = RestorerNet(RestorerShape(**config["net"]))
        self.net.load_state_dict(load_weights(folder.resolve(checkpoint) / MODEL_FILE))
        self.net.to(self.device).eval()

    @torch.inference_mode()
    def restore(self, crops: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(crops)).to(self.device).permute(0, 3, 1, 2).float() / 255.0
        y = self.net(x).clamp(0.0, 1.0).mul(255.0).round().to(torch.uint8)
        return y.permute(0, 2, 3, 1).cpu().numpy()

    def close(self) -> None:
        release_models(self, "net")
