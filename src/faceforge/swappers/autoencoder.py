"""A trained pair model as a swapper: faces of A through decoder B (``a2b``), or B through A (``b2a``).

The model folder is what ``faceforge train`` writes (``docs/guide-pair-workflow.md``). Target faces are
aligned to the ``full-face`` template the facesets use; the centred ``coverage`` share of the crop (the
dataset's default, 0.8) is what the model saw in training, so that square is resized to the model's input,
swapped, resized back and put over the crop. With a learned mask the swapper returns it (in crop
coordinates; the compositor narrows its own mask with it); without one, a soft square over the covered
region. The person put in is the model's own other side, so no source photo is needed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch

from faceforge.errors import InputError, WeightsError
from faceforge.geometry.alignment import TEMPLATES, Template
from faceforge.models.coverage import DEFAULT_COVERAGE, coverage_geometry
from faceforge.models.folder import MODEL_FILE, ModelFolder, load_weights, weights_metadata
from faceforge.nets.autoencoders import AutoencoderConfig, SwapAutoencoder
from faceforge.swappers.base import release_models, stacked_crops
from faceforge.types import AlignedFace, SourceIdentity, SwapResult

DIRECTIONS = {"a2b": "b", "b2a": "a"}  # direction -> the decoder (side) that paints the new face


def model_geometry(config: AutoencoderConfig, coverage: float = DEFAULT_COVERAGE) -> tuple[int, int, int]:
    """``(crop_size, offset, work)``: the aligned crop side, and the covered square's offset and side in it,
    exactly as :class:`~faceforge.training.data.FacesetDataset` cropped for the same model."""
    return coverage_geometry(config.input_size, config.output_size, coverage)


class AutoencoderSwapper:
    """Implements the swapper protocol with a model folder from ``faceforge train``.

    ``checkpoint``: ``latest`` (default), ``best`` or ``snapshot``. ``learned_mask``: return the model's
    mask, when it learned one, for the compositor to use. ``batch_size``: crops per forward pass.
    """

    name = "autoencoder"
    needs_source = False  # the face put in is the model's own other person

    def __init__(
        self,
        model_dir: Path | str | None = None,
        direction: str = "a2b",
        *,
        checkpoint: str = "latest",
        learned_mask: bool = True,
        device: str | torch.device | None = None,
        batch_size: int = 16,
    ) -> None:
        if model_dir is None:
            raise ValueError("The autoencoder swapper needs a trained model: give --model MODEL_DIR.")
        if direction not in DIRECTIONS:
            raise ValueError(f"Unknown direction '{direction}'; choose one of: {', '.join(DIRECTIONS)}.")
        self.model_dir = Path(model_dir)
        if not self.model_dir.is_dir():
            raise InputError(f"The model folder {self.model_dir} does not exist.")
        store = ModelFolder(self.model_dir)
        weights_path = store.resolve(checkpoint) / MODEL_FILE
        meta = weights_metadata(weights_path)
        try:
            self.config = AutoencoderConfig.from_dict(json.loads(meta["model_config"]))
        except (KeyError, ValueError, TypeError) as exc:
            raise WeightsError(f"{weights_path} does not describe a faceforge autoencoder ({exc}).") from None
        self.iteration = int(meta.get("iteration", 0))
        self.direction, self.side = direction, DIRECTIONS[direction]
        self.device = (
            torch.device(device) if device else torch.device("cuda" if torch.cuda.is_available() else "cpu")
        )
        self.model = SwapAutoencoder(self.config)
        try:
            self.model.load_state_dict(load_weights(weights_path))
        except RuntimeError as exc:
            raise WeightsError(f"{weights_path} does not match its own model description ({exc}).") from None
        self.model.to(self.device).eval()
        self.learned_mask = learned_mask and self.config.learn_mask
        self.batch_size = max(1, batch_size)
        self.crop_size, self._offset, self._work = model_geometry(self.config)
        self.template: Template = TEMPLATES["full-face"]
        self._box = self._square_mask()

    def _square_mask(self) -> np.ndarray:
        """A soft square over the covered region (the mask when the model learned none)."""
        mask = np.zeros((self.crop_size, self.crop_size), np.float32)
        inset = max(1, round(self._work * 0.03))
        lo, hi = self._offset + inset, self._offset + self._work - inset
        mask[lo:hi, lo:hi] = 1.0
        return cv2.GaussianBlur(mask, (0, 0), sigmaX=inset / 2.0)

    def close(self) -> None:
        """Release the network."""
        release_models(self, "model")

    def prepare_source(self, source: SourceIdentity | None) -> None:
        """Nothing to prepare: the identity put in lives in the model's weights."""
        return None

    @torch.no_grad()
    def swap(self, targets: Sequence[AlignedFace], prepared: object = None) -> list[SwapResult]:
        results: list[SwapResult] = []
        size_in, work, lo = self.config.input_size, self._work, self._offset
        for start in range(0, len(targets), self.batch_size):
            group = targets[start : start + self.batch_size]
            inputs = []
            for crop in stacked_crops(group, self.crop_size):
                region = crop[lo : lo + work, lo : lo + work]
                if size_in != work:
                    region = cv2.resize(region, (size_in, size_in), interpolation=cv2.INTER_AREA)
                inputs.append(region)
            batch = torch.from_numpy(np.stack(inputs)).to(self.device).permute(0, 3, 1, 2).float().div_(255.0)
            rgb, mask = self.model(batch, self.side)
            rgb_np = (rgb.clamp(0, 1) * 255.0 + 0.5).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
            mask_np = mask[:, 0].float().cpu().numpy() if (mask is not None and self.learned_mask) else None
            for i, target in enumerate(group):
                face = rgb_np[i]
                if face.shape[0] != work:
                    face = cv2.resize(face, (work, work), interpolation=cv2.INTER_CUBIC)
                image = target.image.copy()
                image[lo : lo + work, lo : lo + work] = face
                if mask_np is not None:
                    learned = mask_np[i]
                    if learned.shape[0] != work:
                        learned = cv2.resize(learned, (work, work), interpolation=cv2.INTER_LINEAR)
                    full = np.zeros((self.crop_size, self.crop_size), np.float32)
                    full[lo : lo + work, lo : lo + work] = np.clip(learned, 0.0, 1.0)
                    out_mask = np.minimum(full, self._box)
                else:
                    out_mask = self._box
                results.append(SwapResult(image=image, mask=out_mask))
        return results
