"""onnxruntime sessions: provider choice by device, clear errors for missing or invalid models, the
declared inputs and outputs."""

from __future__ import annotations

import numpy as np
import onnxruntime
import pytest
from onnx import TensorProto
from onnx_toys import swapper_model

from faceforge.errors import WeightsError
from faceforge.weights.onnx_session import create_session, describe_io, session_providers


def test_providers_follow_the_device(monkeypatch) -> None:
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["CPUExecutionProvider"])
    assert session_providers("auto") == session_providers("cpu") == ["CPUExecutionProvider"]
    with pytest.raises(WeightsError, match="needs onnxruntime with CUDA"):
        session_providers("cuda")
    monkeypatch.setattr(
        onnxruntime, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"]
    )
    assert session_providers("auto") == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert session_providers("cuda:1") == [
        ("CUDAExecutionProvider", {"device_id": "1"}),
        "CPUExecutionProvider",
    ]
    assert session_providers("cpu") == ["CPUExecutionProvider"]
    with pytest.raises(WeightsError, match="not cuda:N with a number N"):
        session_providers("cuda:x")


def test_missing_and_invalid_files_are_weights_errors(tmp_path) -> None:
    with pytest.raises(WeightsError, match=r"model .*absent.onnx does not exist\.$"):
        create_session(tmp_path / "absent.onnx")
    (tmp_path / "text.onnx").write_text("not a protobuf")
    with pytest.raises(
        WeightsError, match=r"text.onnx is not a valid ONNX model \(Protobuf parsing failed\)\.$"
    ):
        create_session(tmp_path / "text.onnx")
    (tmp_path / "empty.onnx").write_bytes(b"")
    with pytest.raises(
        WeightsError, match=r"empty\.onnx is not a valid ONNX model \(No graph was found in the protobuf\)\.$"
    ):
        create_session(tmp_path / "empty.onnx")


def test_describe_io_reports_names_shapes_and_dtypes(tmp_path) -> None:
    session = create_session(swapper_model(tmp_path / "m.onnx", 64, element_type=TensorProto.FLOAT16), "cpu")
    io = describe_io(session)
    target = io.input("target")
    assert target is not None and target.shape == ("batch", 3, 64, 64) and target.dtype == np.float16
    assert target.dim(0) is None and target.dim(2) == 64 and io.input("absent") is None
    assert io.summary() == "target[batch,3,64,64] source[batch,512] -> output[batch,3,64,64]"
