"""A state dict against a module's layout: the check behind loading checkpoints made by other projects.

``load_state_dict`` reports every missing and unexpected key in one long message; loaders here name the
first difference in a sentence instead, and can check before any real memory is allocated (the expected
layout comes from a module built on the meta device). Also the move of a module to a device and memory
layout (channels-last).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

import torch
from torch import Tensor, nn

ModuleT = TypeVar("ModuleT", bound=nn.Module)


def state_shapes(module: nn.Module) -> dict[str, tuple[int, ...]]:
    """``state_dict`` key → shape (works for modules built on the meta device)."""
    return {key: tuple(value.shape) for key, value in module.state_dict().items()}


def layout_difference(state: Mapping[str, Tensor], expected: Mapping[str, tuple[int, ...]]) -> str | None:
    """The first way ``state`` differs from the ``expected`` key → shape layout, as a clause ("they lack
    'x'"), or None when the keys and shapes are the same."""
    for key, shape in expected.items():
        if key not in state:
            return f"they lack '{key}'"
        if not torch.is_tensor(state[key]):
            return f"'{key}' is not a tensor"
        found = tuple(state[key].shape)
        if found != shape:
            return f"'{key}' is {list(found)} where {list(shape)} is expected"
    extra = next((key for key in state if key not in expected), None)
    return None if extra is None else f"they hold an unexpected '{extra}'"


def to_device(module: ModuleT, device: torch.device, memory_format: torch.memory_format) -> ModuleT:
    """``module.to(device, memory_format=...)``: its 4-D and 5-D parameters and buffers take
    ``memory_format``. ``Module.to`` accepts that keyword at run time, but torch's typed overloads of it
    omit the keyword, so the call goes through a plain callable."""
    move: Callable[..., ModuleT] = module.to
    return move(device, memory_format=memory_format)
