"""AEI-Net to ONNX, with the interface of facefusion's GHOST models (``ghost_1/2/3_256.onnx``).

Inputs ``target`` (``B x 3 x 256 x 256``, RGB in [-1, 1]) and ``source`` (``B x c_id``, the raw identity
vector), both float32; output ``output`` (``B x 3 x 256 x 256`` in [-1, 1]). The batch axis is dynamic.

The TorchScript exporter is used on purpose: it writes the requested opset exactly, where the dynamo
exporter starts from opset 18, cannot take the bilinear ``Resize`` down to 17, and takes several times
longer. Its deprecation notices are therefore silenced, as are its notes on InstanceNorm (exported with
input statistics, which is what AEI-Net's stat-free InstanceNorm means; its input-size checks traced as
constants, which leaves the batch axis dynamic).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import Tensor, nn

from faceforge.media.atomic import atomic_output
from faceforge.nets.aeinet import INPUT_SIZE, AEINet

INPUT_NAMES = ("target", "source")
OUTPUT_NAME = "output"


class _SwapOnly(nn.Module):
    """The swapped face alone: the attribute maps are for training and stay out of the graph."""

    def __init__(self, model: AEINet) -> None:
        super().__init__()
        self.model = model

    def forward(self, target: Tensor, source: Tensor) -> Tensor:
        return self.model(target, source)[0]


def export_aeinet_onnx(model: AEINet, path: Path, *, opset: int = 17) -> Path:
    """Write ``model`` (float32, in eval mode for the export; its mode is restored) as ONNX to ``path``,
    atomically, and return ``path``."""
    path = Path(path)
    parameter = next(model.parameters())
    if parameter.dtype != torch.float32:
        raise ValueError(f"Export a float32 AEI-Net, not {parameter.dtype}.")
    example = (
        torch.zeros(1, 3, INPUT_SIZE, INPUT_SIZE, device=parameter.device),
        torch.zeros(1, model.config.c_id, device=parameter.device),
    )
    batch_axis = {0: "batch"}
    was_training = model.training
    model.eval()
    try:
        with atomic_output(path) as temp, torch.no_grad(), warnings.catch_warnings():
            warnings.filterwarnings("ignore", "You are using the legacy TorchScript-based ONNX export")
            warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.onnx\.")
            warnings.filterwarnings("ignore", ".*'instance_norm' is set to train=True")
            # InstanceNorm's input-size checks; the batch axis is still exported as dynamic.
            warnings.filterwarnings("ignore", category=torch.jit.TracerWarning, module=r"torch\.nn\.")
            torch.onnx.export(
                _SwapOnly(model),
                example,
                str(temp),
                input_names=list(INPUT_NAMES),
                output_names=[OUTPUT_NAME],
                opset_version=opset,
                dynamo=False,
                dynamic_axes={name: batch_axis for name in (*INPUT_NAMES, OUTPUT_NAME)},
            )
    finally:
        model.train(was_training)
    return path
