"""onnxruntime sessions for faceforge's ONNX networks: provider choice, load errors, declared inputs/outputs.

Every ONNX model faceforge runs (swappers, recognisers, embedding converters, exported generators) is
opened here, so the device rule and the error sentences are the same everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime
from onnxruntime.capi import onnxruntime_pybind11_state as ort_errors

from faceforge.errors import WeightsError

CUDA_PROVIDER = "CUDAExecutionProvider"
CPU_PROVIDER = "CPUExecutionProvider"

# The exceptions onnxruntime raises when a file is not a loadable model; none of them derive from a
# common base other than Exception.
_LOAD_ERRORS = (
    ort_errors.Fail,
    ort_errors.InvalidArgument,
    ort_errors.InvalidGraph,
    ort_errors.InvalidProtobuf,
    ort_errors.NoSuchFile,
    ort_errors.NotImplemented,
    ort_errors.RuntimeException,
)

# onnxruntime names element types "tensor(float)"; the arrays fed to a session must match them.
_NUMPY_DTYPES: dict[str, np.dtype] = {
    "tensor(float)": np.dtype(np.float32),
    "tensor(float16)": np.dtype(np.float16),
    "tensor(double)": np.dtype(np.float64),
    "tensor(int64)": np.dtype(np.int64),
    "tensor(int32)": np.dtype(np.int32),
    "tensor(uint8)": np.dtype(np.uint8),
}


@dataclass(frozen=True, slots=True)
class TensorSpec:
    """One declared input or output. A dimension is an int when fixed, else its symbolic name or None."""

    name: str
    shape: tuple[int | str | None, ...]
    element_type: str  # onnxruntime's spelling, e.g. "tensor(float16)"

    @property
    def dtype(self) -> np.dtype:
        """The numpy dtype to feed (or expect back); raises WeightsError for element types faceforge
        never feeds."""
        try:
            return _NUMPY_DTYPES[self.element_type]
        except KeyError:
            raise WeightsError(
                f"The ONNX tensor '{self.name}' has element type {self.element_type}, "
                "which faceforge cannot feed."
            ) from None

    def dim(self, axis: int) -> int | None:
        """The fixed size of ``axis``, or None when that axis is dynamic."""
        size = self.shape[axis]
        return size if isinstance(size, int) and size > 0 else None


@dataclass(frozen=True, slots=True)
class ModelIO:
    """A session's declared inputs and outputs, in graph order."""

    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    def input(self, name: str) -> TensorSpec | None:
        return next((spec for spec in self.inputs if spec.name == name), None)

    def summary(self) -> str:
        """One line for error messages, e.g. ``target[N,3,128,128] source[N,512] -> output[?,3,128,128]``
        (a symbolic dimension by its name, an unnamed one as ?)."""

        def spell(spec: TensorSpec) -> str:
            dims = ",".join("?" if size is None else str(size) for size in spec.shape)
            return f"{spec.name}[{dims}]"

        ins = " ".join(spell(spec) for spec in self.inputs)
        outs = " ".join(spell(spec) for spec in self.outputs)
        return f"{ins} -> {outs}"


def session_providers(device: str) -> list[str | tuple[str, dict[str, str]]]:
    """The execution providers for ``device`` ("auto", "cpu", "cuda", "cuda:N"), best first.

    "auto" takes CUDA when this onnxruntime build has it; an explicit "cuda" without it is an error
    rather than a silent fall back to the CPU.
    """
    available = onnxruntime.get_available_providers()
    if device == "cpu":
        return [CPU_PROVIDER]
    if device == "auto":
        return [CUDA_PROVIDER, CPU_PROVIDER] if CUDA_PROVIDER in available else [CPU_PROVIDER]
    if device == "cuda" or device.startswith("cuda:"):
        if CUDA_PROVIDER not in available:
            raise WeightsError(
                f"Device '{device}' needs onnxruntime with CUDA (the onnxruntime-gpu package); "
                "this one has only " + ", ".join(available) + "."
            )
        index = device.partition(":")[2] or "0"
        if not index.isdigit():
            raise WeightsError(f"Device '{device}' is not cuda:N with a number N.")
        return [(CUDA_PROVIDER, {"device_id": index}), CPU_PROVIDER]
    raise WeightsError(f"Device '{device}' is not one of auto, cpu, cuda or cuda:N.")


def create_session(path: Path, device: str = "auto") -> onnxruntime.InferenceSession:
    """Open the ONNX model at ``path`` on ``device``."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"The ONNX model {path} does not exist.")
    providers = session_providers(device)
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only: onnxruntime's load warnings are not for users
    try:
        return onnxruntime.InferenceSession(str(path), sess_options=options, providers=providers)
    except _LOAD_ERRORS as exc:
        raise WeightsError(f"{path} is not a valid ONNX model ({_first_line(exc)}).") from exc


def describe_io(session: onnxruntime.InferenceSession) -> ModelIO:
    """The inputs and outputs ``session`` declares."""

    def specs(args: list[onnxruntime.NodeArg]) -> tuple[TensorSpec, ...]:
        return tuple(TensorSpec(arg.name, tuple(arg.shape), arg.type) for arg in args)

    return ModelIO(inputs=specs(session.get_inputs()), outputs=specs(session.get_outputs()))


def run_batch(
    session: onnxruntime.InferenceSession, output: str, feeds: Mapping[str, np.ndarray], batched: bool
) -> np.ndarray:
    """``output`` for ``feeds`` that share a leading batch axis: in one run when the model's batch axis is
    dynamic (``batched``), else one item per run (a model exported with batch 1)."""
    if batched:
        return session.run([output], dict(feeds))[0]
    count = len(next(iter(feeds.values())))
    return np.concatenate(
        [
            session.run([output], {name: feed[i : i + 1] for name, feed in feeds.items()})[0]
            for i in range(count)
        ]
    )


def _first_line(exc: Exception) -> str:
    """onnxruntime's reason without its "[ONNXRuntimeError] : 7 : INVALID_PROTOBUF : Load model from
    PATH failed:" prefix (the sentence names the file already)."""
    lines = str(exc).strip().splitlines()
    if not lines:
        return type(exc).__name__
    reason = re.sub(r"^\[ONNXRuntimeError\] : \d+ : \w+ : ", "", lines[0])
    return re.sub(r"^Load model from .* failed:", "", reason).strip().rstrip(".")
