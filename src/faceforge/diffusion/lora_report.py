"""Choosing a LoRA checkpoint by measurement: after each checkpoint a few fixed-seed validation inpaintings
of the training crops are scored by faceforge's identity network (distance to the source photos' faces;
a generation in which no face is found is a miss), and the best checkpoint is the one with the fewest
misses, then the smallest mean distance. This selects among saved checkpoints; no pixel is optimised
against the network. The run is reported as ``training.json`` and a self-contained ``report.html``
(loss and identity curves as inline SVG)."""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from faceforge.analysis.analyser import FaceAnalyser
from faceforge.media.atomic import atomic_output


@dataclass(frozen=True, slots=True)
class CheckpointScore:
    """The validation of one checkpoint: each image's identity distance (None: no face found)."""

    step: int
    loss: float
    distances: tuple[float | None, ...]

    @property
    def misses(self) -> int:
        return sum(d is None for d in self.distances)

    @property
    def mean_distance(self) -> float | None:
        found = [d for d in self.distances if d is not None]
        return float(np.mean(found)) if found else None

    def rank(self) -> tuple[int, float, int]:
        """Smaller is better: misses, then mean distance, then the later step among equals."""
        mean = self.mean_distance
        return (self.misses, math.inf if mean is None else mean, -self.step)

    def summary(self) -> str:
        told = f"step {self.step}: loss {self.loss:.4f}"
        if not self.distances:
            return told + " (not validated)"
        mean = self.mean_distance
        seen = "no face found" if mean is None else f"identity {mean:.3f}"
        return f"{told}, {seen}, misses {self.misses}/{len(self.distances)}"

    def as_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "loss": self.loss,
            "distances": list(self.distances),
            "misses": self.misses,
            "mean_distance": self.mean_distance,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CheckpointScore:
        return cls(int(data["step"]), float(data["loss"]), tuple(data["distances"]))


def choose_best(scores: Sequence[CheckpointScore]) -> CheckpointScore:
    return min(scores, key=CheckpointScore.rank)


class IdentityScorer:
    """Distances of images' largest faces to the mean identity of the largest faces of ``sources``."""

    def __init__(self, analyser: FaceAnalyser, sources: Sequence[np.ndarray]) -> None:
        self.analyser = analyser
        vectors = []
        for image in sources:
            faces = analyser.faces(image)
            if faces:
                vectors.append(np.asarray(analyser.embed(image, faces[:1])[0].embedding))
        self.source = np.mean(vectors, axis=0) if vectors else None

    def __call__(self, image: np.ndarray) -> float | None:
        faces = self.analyser.faces(image)
        if not faces or self.source is None:
            return None
        embedding = np.asarray(self.analyser.embed(image, faces[:1])[0].embedding)
        return float(
            np.asarray(self.analyser.identity.distance(embedding[None], self.source[None])).ravel()[0]
        )


def validation_images(
    pipeline: Any, crops: Sequence[Any], count: int, steps: int, strength: float, seed: int
) -> list[np.ndarray]:
    """``count`` inpaintings of the crops' face regions with their captions, each with its own fixed
    seed, so every checkpoint is judged on the same noise."""
    import torch
    from PIL import Image

    from faceforge.diffusion.lora_train import face_region

    was_training = pipeline.unet.training
    pipeline.unet.eval()
    images = []
    for index in range(count):
        crop = crops[index % len(crops)]
        size = crop.image.shape[0]
        mask = Image.fromarray((face_region(size) * 255).astype(np.uint8))
        result = pipeline(
            prompt=crop.caption,
            image=Image.fromarray(crop.image),
            mask_image=mask,
            height=size,
            width=size,
            strength=strength,
            num_inference_steps=steps,
            generator=torch.Generator().manual_seed(seed + index),
            output_type="np",
        ).images[0]
        images.append((np.clip(result, 0, 1) * 255).round().astype(np.uint8))
    pipeline.unet.train(was_training)
    return images


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def _polyline(values: Sequence[tuple[float, float]], width: int = 480, height: int = 160) -> str:
    if not values:
        return "<p>(no values)</p>"
    xs, ys = [v[0] for v in values], [v[1] for v in values]
    x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    y0, y1 = min(ys), max(ys) if max(ys) > min(ys) else min(ys) + 1
    across = [(x - x0) / (x1 - x0) * (width - 20) + 10 for x in xs]
    up = [height - 10 - (y - y0) / (y1 - y0) * (height - 20) for y in ys]
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(across, up, strict=True))
    return (
        f'<svg width="{width}" height="{height}" style="border:1px solid #ccc">'
        f'<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="{points}"/></svg>'
        f"<div>{y0:.4g} .. {y1:.4g}</div>"
    )


def write_report(
    output: Path,
    settings: dict[str, Any],
    losses: Sequence[float],
    scores: Sequence[CheckpointScore],
    best: CheckpointScore,
) -> None:
    """``training.json`` and ``report.html`` in ``output``, each written atomically."""
    data = {
        "settings": settings,
        "steps": len(losses),
        "losses": list(losses),
        "checkpoints": [s.as_json() for s in scores],
        "best": {"step": best.step, "folder": f"checkpoints/step-{best.step:06d}", "why": best.summary()},
    }
    with atomic_output(output / "training.json") as temp:
        temp.write_text(json.dumps(data, indent=2) + "\n")
    identity = [(s.step, s.mean_distance) for s in scores if s.mean_distance is not None]
    rows = "".join(
        f"<tr><td>{s.step}</td><td>{s.loss:.4f}</td><td>{_number(s.mean_distance)}</td>"
        f"<td>{s.misses}/{len(s.distances)}</td><td>{'best' if s.step == best.step else ''}</td></tr>"
        for s in scores
    )
    page = (
        "<!doctype html><meta charset='utf-8'><title>LoRA training</title>"
        "<body style='font-family:sans-serif'>"
        f"<h1>LoRA training: {len(losses)} steps</h1><p>Best: {html.escape(best.summary())}</p>"
        f"<h2>Loss per step</h2>{_polyline(list(enumerate(losses, 1)))}"
        f"<h2>Identity distance per checkpoint (smaller: closer to the source)</h2>"
        f"{_polyline([(float(x), float(y)) for x, y in identity])}"
        "<h2>Checkpoints</h2><table border='1' cellpadding='4'><tr><th>step</th><th>loss</th>"
        f"<th>identity</th><th>misses</th><th></th></tr>{rows}</table></body>"
    )
    with atomic_output(output / "report.html") as temp:
        temp.write_text(page)
