"""Preview grids of a training run: how the model reconstructs and swaps a few fixed faces.

Each row shows one fixed face of A and one of B (from ``FacesetDataset(training=False)``: no
augmentation, the same faces every time) as six tiles: A, A→A, A→B | B, B→B, B→A. The grid is written
as ``MODEL_DIR/previews/<iteration>.png`` (plus ``preview.png``, the latest) and to TensorBoard.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
from torch import Tensor

from faceforge.media.images import write_image
from faceforge.media.provenance import make_tag
from faceforge.version import __version__

COLUMNS = ("A", "A>A", "A>B", "B", "B>B", "B>A")
_HEADER = 14
_GAP = 4


def fixed_samples(dataset: torch.utils.data.Dataset, count: int) -> dict[str, Tensor]:
    """The first ``count`` items of an un-augmented dataset, stacked (the preview's fixed faces)."""
    count = min(count, len(dataset))  # type: ignore[arg-type]
    items = [dataset[i] for i in range(count)]
    return {key: torch.stack([torch.as_tensor(item[key]) for item in items]) for key in ("input", "target")}


def preview_tiles(images: Tensor) -> list[np.ndarray]:
    """``(N, 3, S, S)`` in [0, 1] as N uint8 HxWx3 arrays."""
    array = (images.detach().float().clamp(0, 1) * 255.0 + 0.5).to(torch.uint8).permute(0, 2, 3, 1)
    return list(array.cpu().numpy())


def tile_grid(columns: dict[str, list[np.ndarray]], gap_before: tuple[str, ...] = ()) -> np.ndarray:
    """A labelled grid: one column per entry of ``columns`` (in order), one row per tile; every tile is
    resized to the first column's tile size; a gap separates the columns named in ``gap_before`` from the
    ones left of them."""
    rows = min(len(tiles) for tiles in columns.values())
    size = next(iter(columns.values()))[0].shape[0]
    gaps = sum(name in gap_before for name in columns)
    grid = np.full((_HEADER + rows * size, len(columns) * size + gaps * _GAP, 3), 24, dtype=np.uint8)
    x = 0
    for name, tiles in columns.items():
        x += _GAP if name in gap_before else 0
        cv2.putText(grid, name, (x + 3, _HEADER - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (230, 230, 230), 1)
        for r in range(rows):
            tile = tiles[r]
            if tile.shape[0] != size:
                tile = cv2.resize(tile, (size, size), interpolation=cv2.INTER_AREA)
            grid[_HEADER + r * size : _HEADER + (r + 1) * size, x : x + size] = tile
        x += size
    return grid


@torch.no_grad()
def render_preview(
    model: torch.nn.Module, samples_a: dict[str, Tensor], samples_b: dict[str, Tensor], device: torch.device
) -> np.ndarray:
    """The preview grid (uint8 RGB) for ``model`` in its current state; the model's mode is restored."""
    was_training = model.training
    model.eval()
    try:
        xa, xb = samples_a["input"].to(device), samples_b["input"].to(device)
        outputs = {
            "A>A": model(xa, "a")[0],
            "A>B": model(xa, "b")[0],
            "B>B": model(xb, "b")[0],
            "B>A": model(xb, "a")[0],
        }
    finally:
        model.train(was_training)
    tiles = {"A": samples_a["target"], "B": samples_b["target"], **outputs}
    return tile_grid({name: preview_tiles(tiles[name]) for name in COLUMNS}, gap_before=("B",))


def write_preview(model_dir: Path, iteration: int, grid: np.ndarray) -> Path:
    """Write the grid as ``previews/<iteration>.png`` and ``previews/preview.png`` (atomically)."""
    folder = Path(model_dir) / "previews"
    folder.mkdir(parents=True, exist_ok=True)
    tag = make_tag(__version__, "training-preview", {"iteration": iteration})
    path = folder / f"{iteration:08d}.png"
    write_image(path, grid, tag)
    write_image(folder / "preview.png", grid, tag)
    return path
