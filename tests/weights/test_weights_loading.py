"""``load_state_dict``: safetensors and plain PyTorch state dicts load; pickled objects are refused."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from faceforge.errors import WeightsError
from faceforge.weights import load_state_dict


class _Settings:
    """A plain custom object, as some training scripts save next to the weights."""

    def __init__(self) -> None:
        self.lr = 0.1


class _Payload:
    """A pickled object whose loading would run code: it touches a marker file when unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _tensors() -> dict[str, torch.Tensor]:
    return {
        "encoder.conv1.0.weight": torch.randn(4, 3, 4, 4),
        "encoder.conv1.1.num_batches_tracked": torch.tensor(7),
    }


def _assert_same(loaded: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> None:
    assert sorted(loaded) == sorted(expected)
    for key, value in expected.items():
        assert loaded[key].dtype == value.dtype and torch.equal(loaded[key], value)


def test_safetensors(tmp_path: Path) -> None:
    tensors = _tensors()
    save_file(tensors, str(tmp_path / "g.safetensors"))
    _assert_same(load_state_dict(tmp_path / "g.safetensors"), tensors)


@pytest.mark.parametrize("suffix", [".pth", ".pt", ".bin"])
def test_plain_torch_state_dict(tmp_path: Path, suffix: str) -> None:
    tensors = _tensors()
    torch.save(OrderedDict(tensors), tmp_path / f"G{suffix}")
    loaded = load_state_dict(tmp_path / f"G{suffix}")
    assert type(loaded) is dict
    _assert_same(loaded, tensors)


def test_a_pickled_object_is_refused_without_running_it(tmp_path: Path) -> None:
    marker = tmp_path / "code-ran"
    torch.save({"weight": torch.zeros(2), "extra": _Payload(marker)}, tmp_path / "G.pth")
    with pytest.raises(WeightsError, match=r"is refused: it holds a pickled Python object .* arbitrary code"):
        load_state_dict(tmp_path / "G.pth")
    assert not marker.exists()

    torch.save({"weight": torch.zeros(2), "settings": _Settings()}, tmp_path / "D.pth")
    with pytest.raises(WeightsError, match=r"refused: it holds a pickled Python object \(.*_Settings\)"):
        load_state_dict(tmp_path / "D.pth")


def test_not_a_flat_state_dict(tmp_path: Path) -> None:
    torch.save({"state_dict": _tensors()}, tmp_path / "nested.pth")
    with pytest.raises(WeightsError, match=r"not a flat state dict: entry 'state_dict'"):
        load_state_dict(tmp_path / "nested.pth")
    torch.save([torch.zeros(1)], tmp_path / "list.pth")
    with pytest.raises(WeightsError, match=r"holds a list, not a mapping"):
        load_state_dict(tmp_path / "list.pth")


def test_unreadable_missing_and_unknown_files(tmp_path: Path) -> None:
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint" * 10)
    with pytest.raises(WeightsError, match="not a readable PyTorch file"):
        load_state_dict(tmp_path / "junk.pth")
    (tmp_path / "junk.safetensors").write_bytes(b"\xff" * 64)
    with pytest.raises(WeightsError, match="not readable safetensors"):
        load_state_dict(tmp_path / "junk.safetensors")
    with pytest.raises(WeightsError, match="does not exist"):
        load_state_dict(tmp_path / "missing.pth")
    (tmp_path / "model.onnx").write_bytes(b"onnx")
    with pytest.raises(WeightsError, match="not a state-dict file"):
        load_state_dict(tmp_path / "model.onnx")
