"""AEI-Net to ONNX: facefusion's GHOST interface, a dynamic batch, the same numbers as PyTorch, atomic
writing."""

import onnx
import onnxruntime as ort
import pytest
import torch

from faceforge.errors import OutputError
from faceforge.nets.aeinet import AEINet, AEINetConfig, init_aeinet
from faceforge.nets.onnx_export import export_aeinet_onnx


@pytest.fixture(scope="module")
def tiny_model() -> AEINet:
    torch.manual_seed(0)
    model = AEINet(AEINetConfig("unet", num_blocks=1, c_id=16, width=4))
    init_aeinet(model)
    with (
        torch.no_grad()
    ):  # BatchNorm statistics that are not the identity, so the export's eval mode is visible
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 2.0)
    return model.train()


@pytest.mark.slow
def test_the_export_runs_in_onnxruntime_and_matches_pytorch(tiny_model, tmp_path):
    path = export_aeinet_onnx(tiny_model, tmp_path / "ghost.onnx")
    assert path == tmp_path / "ghost.onnx" and [p.name for p in tmp_path.iterdir()] == ["ghost.onnx"]
    assert tiny_model.training  # the caller's mode is restored
    assert onnx.load(path).opset_import[0].version == 17
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [(i.name, i.shape, i.type) for i in session.get_inputs()] == [
        ("target", ["batch", 3, 256, 256], "tensor(float)"),
        ("source", ["batch", 16], "tensor(float)"),
    ]
    assert [(o.name, o.shape) for o in session.get_outputs()] == [("output", ["batch", 3, 256, 256])]
    tiny_model.eval()
    try:
        for batch in (1, 3):
            target = torch.rand(batch, 3, 256, 256) * 2 - 1
            source = torch.randn(batch, 16) * 5
            with torch.no_grad():
                expected = tiny_model(target, source)[0].numpy()
            (got,) = session.run(["output"], {"target": target.numpy(), "source": source.numpy()})
            assert got.shape == (batch, 3, 256, 256)
            assert abs(got - expected).max() < 1e-4
    finally:
        tiny_model.train()


def test_unwritable_destinations_and_half_models_are_refused(tiny_model, tmp_path):
    with pytest.raises(OutputError, match="does not exist"):
        export_aeinet_onnx(tiny_model, tmp_path / "missing" / "ghost.onnx")
    half = AEINet(AEINetConfig("linknet", num_blocks=1, c_id=8, width=1)).half()
    with pytest.raises(ValueError, match="float32"):
        export_aeinet_onnx(half, tmp_path / "half.onnx")
    assert not list(tmp_path.iterdir())
