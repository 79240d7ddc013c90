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
    with pytest.raises(
        WeightsError, match=r"is refused: it holds (a )?pickled Python objects? .* arbitrary code"
    ):
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


def test_a_plain_pickle_names_its_class_and_never_advises_weights_only_false(tmp_path: Path) -> None:
    import argparse
    import pickle

    with open(tmp_path / "options.pth", "wb") as handle:
        pickle.dump({"weight": [1.0], "opts": argparse.Namespace(lr=0.1)}, handle)
    with pytest.raises(WeightsError) as refused:
        load_state_dict(tmp_path / "options.pth")
    assert "a pickled Python object (argparse.Namespace)" in str(refused.value)
    with open(tmp_path / "lists.pth", "wb") as handle:
        pickle.dump({"weight": [1.0, 2.0]}, handle)  # torch 2.13 says 'Unsupported operand 149'
    with pytest.raises(WeightsError) as unreadable:
        load_state_dict(tmp_path / "lists.pth")
    text = str(unreadable.value)
    assert "is not a readable PyTorch file" in text and "pickle.dump" in text
    for message in (str(refused.value), text):
        assert "weights_only" not in message and "operand" not in message


def test_an_allowed_class_loads_through_load_checkpoint(tmp_path: Path) -> None:
    import argparse

    from faceforge.weights.loading import load_checkpoint

    torch.save({"state_dict": _tensors(), "opts": argparse.Namespace(size=1024)}, tmp_path / "e4e.pt")
    with pytest.raises(WeightsError, match=r"a pickled Python object \(argparse\.Namespace\)"):
        load_checkpoint(tmp_path / "e4e.pt")
    loaded = load_checkpoint(tmp_path / "e4e.pt", allow=(argparse.Namespace,))
    assert isinstance(loaded, dict) and loaded["opts"].size == 1024
    marker = tmp_path / "code-ran"
    torch.save({"opts": argparse.Namespace(), "extra": _Payload(marker)}, tmp_path / "mixed.pt")
    with pytest.raises(WeightsError, match="is refused"):  # allowing one class allows no other
        load_checkpoint(tmp_path / "mixed.pt", allow=(argparse.Namespace,))
    assert not marker.exists()


@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_nan_and_integer_weights_are_refused(tmp_path: Path, suffix: str) -> None:
    def save(tensors: dict[str, torch.Tensor], name: str) -> Path:
        path = tmp_path / f"{name}{suffix}"
        if suffix == ".safetensors":
            save_file(tensors, str(path))
        else:
            torch.save(tensors, path)
        return path

    nan = save({**_tensors(), "decoder.weight": torch.full((3, 3), float("nan"))}, "nan")
    with pytest.raises(WeightsError, match=r"unusable: 'decoder.weight' holds NaN or infinite values"):
        load_state_dict(nan)
    inf = save({"decoder.bias": torch.tensor([1.0, float("inf")])}, "inf")
    with pytest.raises(WeightsError, match=r"'decoder\.bias' holds NaN or infinite"):
        load_state_dict(inf)
    integer = save({"encoder.conv1.0.weight": torch.ones(4, 3, 4, 4, dtype=torch.int64)}, "int")
    with pytest.raises(
        WeightsError, match=r"'encoder.conv1.0.weight' is int64, but network weights are floating"
    ):
        load_state_dict(integer)
