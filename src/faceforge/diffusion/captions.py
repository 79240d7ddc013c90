"""Captions of the training crops: the template's (see ``LoraTrainOptions.caption``) plus, when the user
gives a local image-captioning model, its description of each crop. The identity is the token's: the
model describes what else is seen (light, clothes, expression, background), which keeps those out of
what the LoRA learns as the person."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from faceforge.errors import InputError, WeightsError

MAX_CAPTION_TOKENS = 30


class Captioner:
    """A local image-to-text model (any ``AutoModelForImageTextToText`` that captions from the image
    alone: BLIP, GIT, a vision encoder-decoder), with its image processor and tokenizer; greedy decoding,
    so a crop always gets the same description."""

    def __init__(self, folder: str, device: str = "cpu") -> None:
        from transformers import AutoImageProcessor, AutoModelForImageTextToText, AutoTokenizer

        path = Path(folder).expanduser()
        if not (path / "config.json").is_file():
            raise InputError(f"The captioning model {path} is not a local model folder (no config.json).")
        try:
            self.model: Any = AutoModelForImageTextToText.from_pretrained(path, local_files_only=True)
            self.processor: Any = AutoImageProcessor.from_pretrained(path, local_files_only=True)
            self.tokenizer: Any = AutoTokenizer.from_pretrained(path, local_files_only=True)
        except (OSError, ValueError, KeyError) as error:
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise WeightsError(
                f"The captioning model {path} could not be loaded: {first.rstrip('.')}."
            ) from None
        model: Any = self.model
        model.to(device)
        model.eval()
        self.device = device

    def __call__(self, image: np.ndarray) -> str:
        import torch
        from PIL import Image

        pixels = self.processor(images=Image.fromarray(image), return_tensors="pt")["pixel_values"]
        with torch.no_grad():
            ids = self.model.generate(
                pixel_values=pixels.to(self.device), max_new_tokens=MAX_CAPTION_TOKENS, do_sample=False
            )
        return str(self.tokenizer.batch_decode(ids, skip_special_tokens=True)[0]).strip()
