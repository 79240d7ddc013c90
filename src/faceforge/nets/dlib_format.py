"""A reader for dlib's binary serialisation of DNNs, written from dlib's ``serialize.h`` and
``dnn/{core,layers,input,loss,tensor}.h``. Numpy only; nothing is executed or unpickled.

What dlib writes, in short:

- integers: one control byte (bit 7: negative, low 4 bits: number of bytes that follow), then the
  magnitude, little-endian;
- floats and doubles (``float_details``): two integers, a 64-bit mantissa and a 16-bit exponent,
  ``value = mantissa * 2**exponent``;
- bools: the character ``'0'`` or ``'1'``; strings: a length integer and the bytes;
- tensors (version 2): four integers (samples, k, rows, columns) and then raw little-endian float32;
- a network is a nest of wrappers, each writing its own version integer *before* its subnetwork, so
  the file holds all the versions from the output layer down, then the input layer, then each layer's
  details from the input up. The loss layer writes itself first.

The file does not record the architecture (which tag a residual adds, for instance): like dlib, the
reader is given the architecture (:data:`FACE_RECOGNITION_RESNET`) and checks the stream against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from faceforge.errors import WeightsError

# ----------------------------------------------------------------------------------------------------
# The architecture, as dlib's type expression (dnn_face_recognition_ex.cpp), flattened from the input up.


@dataclass(frozen=True, slots=True)
class Op:
    """One node of the type expression. ``kind`` is a computational layer ("con", "affine", "relu",
    "max_pool", "avg_pool", "add_prev", "fc"), or a wrapper without details ("tag", "skip")."""

    kind: str
    args: tuple[int, ...] = ()


def _block(n: int, stride: int) -> list[Op]:
    # block<N,BN,stride,SUB> = BN<con<N,3,3,1,1,relu<BN<con<N,3,3,stride,stride,SUB>>>>>
    return [
        Op("con", (n, 3, 3, stride, stride)),
        Op("affine"),
        Op("relu"),
        Op("con", (n, 3, 3, 1, 1)),
        Op("affine"),
    ]


def _ares(n: int) -> list[Op]:
    # relu<add_prev1<block<N,affine,1,tag1<SUB>>>>
    return [Op("tag", (1,)), *_block(n, 1), Op("add_prev", (1,)), Op("relu")]


def _ares_down(n: int) -> list[Op]:
    # relu<add_prev2<avg_pool<2,2,2,2,skip1<tag2<block<N,affine,2,tag1<SUB>>>>>>>
    return [
        Op("tag", (1,)),
        *_block(n, 2),
        Op("tag", (2,)),
        Op("skip", (1,)),
        Op("avg_pool", (2, 2, 2, 2)),
        Op("add_prev", (2,)),
        Op("relu"),
    ]


def _face_recognition_resnet() -> tuple[Op, ...]:
    ops = [Op("con", (32, 7, 7, 2, 2)), Op("affine"), Op("relu"), Op("max_pool", (3, 3, 2, 2))]
    ops += _ares(32) * 3  # alevel4
    ops += _ares_down(64) + _ares(64) * 3  # alevel3
    ops += _ares_down(128) + _ares(128) * 2  # alevel2
    ops += _ares_down(256) + _ares(256) * 2  # alevel1
    ops += _ares_down(256)  # alevel0
    ops += [Op("avg_pool", (0, 0, 1, 1)), Op("fc", (128,))]  # avg_pool_everything, fc_no_bias<128>
    return tuple(ops)


#: ``loss_metric<fc_no_bias<128,avg_pool_everything<alevel0<...<input_rgb_image_sized<150>>>>>>``,
#: input first.
FACE_RECOGNITION_RESNET: tuple[Op, ...] = _face_recognition_resnet()


# ----------------------------------------------------------------------------------------------------
# What the reader returns.


@dataclass(slots=True)
class Layer:
    """A computational layer's parameters as stored: ``con`` has ``weight`` (out, in, kh, kw), ``bias``,
    ``stride`` and ``padding``; ``affine`` has ``gamma`` and ``beta``; pools have ``window``, ``stride``
    and ``padding`` (window 0 = the whole input); ``fc`` has ``weight`` (out, in)."""

    kind: str
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    window: tuple[int, int] = (0, 0)
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    tag: int = 0


@dataclass(slots=True)
class DlibNet:
    """The input layer's settings and every layer of the architecture, input first (wrappers keep
    their place as layers with no arrays, so tags can be resolved)."""

    input_size: tuple[int, int]
    channel_means: tuple[float, float, float]
    layers: list[Layer]
    loss: str


# ----------------------------------------------------------------------------------------------------
# The byte-level reader.


class _Reader:
    def __init__(self, data: bytes, name: str) -> None:
        self.data = data
        self.pos = 0
        self.name = name

    def fail(self, what: str) -> WeightsError:
        return WeightsError(
            f"The dlib model file {self.name} is not a valid dlib network: {what} (at byte {self.pos})."
        )

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise WeightsError(
                f"The dlib model file {self.name} is truncated: it ends at byte {len(self.data)}, "
                f"inside a value that needs byte {self.pos + n}."
            )
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def integer(self, what: str = "an integer") -> int:
        control = self.take(1)[0]
        size = control & 0x0F
        if control & 0x70 or size > 8:
            raise self.fail(f"expected {what}, found control byte {control:#04x}")
        value = int.from_bytes(self.take(size), "little") if size else 0
        return -value if control & 0x80 else value

    def float(self, what: str = "a number") -> float:
        mantissa = self.integer(what)
        exponent = self.integer(what)
        if exponent >= 32000:  # float_details' markers for inf, -inf and nan
            return {32000: np.inf, 32001: -np.inf}.get(exponent, np.nan)
        return float(np.ldexp(float(mantissa), exponent))

    def bool(self) -> bool:
        ch = self.take(1)
        if ch not in (b"0", b"1"):
            raise self.fail(f"expected a bool, found {ch!r}")
        return ch == b"1"

    def string(self, max_len: int = 256) -> str:
        n = self.integer("a string length")
        if n > max_len:
            raise self.fail(f"a string of {n} bytes where a layer name was expected")
        raw = self.take(n)
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError:
            raise self.fail("a layer name that is not text") from None

    def version(self, expected: tuple[int, ...], what: str) -> int:
        v = self.integer(f"the version of {what}")
        if v not in expected:
            raise self.fail(f"{what} has version {v}, expected {' or '.join(map(str, expected))}")
        return v

    def name_of(self, expected: tuple[str, ...]) -> str:
        start = self.pos
        s = self.string()
        if s not in expected:
            self.pos = start
            raise self.fail(f"found layer {s!r} where {' or '.join(map(repr, expected))} was expected")
        return s

    def tensor(self) -> np.ndarray:
        self.version((2,), "a tensor")
        shape = tuple(self.integer("a tensor dimension") for _ in range(4))
        if any(d < 0 for d in shape):
            raise self.fail(f"a tensor with negative shape {shape}")
        count = int(np.prod(shape, dtype=np.int64))
        raw = self.take(4 * count)
        return np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(shape)

    def alias(self) -> tuple[int, int, int, int]:
        self.version((1,), "an alias tensor")
        a, b, c, d = (self.integer("an alias tensor dimension") for _ in range(4))
        return a, b, c, d


def _split(params: np.ndarray, shapes: list[tuple[int, ...]], r: _Reader, what: str) -> list[np.ndarray]:
    flat = params.reshape(-1)
    sizes = [int(np.prod(s)) for s in shapes]
    if sum(sizes) != flat.size:
        raise r.fail(f"{what} holds {flat.size} parameters, its shapes {shapes} need {sum(sizes)}")
    out, offset = [], 0
    for shape, size in zip(shapes, sizes, strict=True):
        out.append(flat[offset : offset + size].reshape(shape).copy())
        offset += size
    return out


def _con(r: _Reader, op: Op) -> Layer:
    r.name_of(("con_4",))
    params = r.tensor()
    num_filters, nr, nc, sy, sx, py, px = (r.integer("a con_ setting") for _ in range(7))
    filters, biases = r.alias(), r.alias()
    for _ in range(4):
        r.float("a learning-rate multiplier")
    if (num_filters, nr, nc, sy, sx) != op.args:
        raise r.fail(f"con_ {(num_filters, nr, nc, sy, sx)} where the architecture has {op.args}")
    if filters[0] != num_filters or filters[2:] != (nr, nc):
        raise r.fail(f"con_ filters of shape {filters}")
    weight, bias = _split(params, [filters, (num_filters,)], r, "con_")
    del biases
    return Layer("con", {"weight": weight, "bias": bias}, (nr, nc), (sy, sx), (py, px))


def _affine(r: _Reader, op: Op) -> Layer:
    kind = r.name_of(("affine_", "bn_con2"))
    if kind == "bn_con2":
        # A network saved while training: fold the running statistics in, as dlib does on loading.
        params = r.tensor()
        gamma_shape, beta_shape = r.alias(), r.alias()
        r.tensor(), r.tensor()  # means, invstds of the last batch
        running_means, running_vars = r.tensor().reshape(-1), r.tensor().reshape(-1)
        r.integer(), r.integer()  # num_updates, running_stats_window_size
        for _ in range(4):
            r.float()
        eps = r.float("eps")
        gamma, beta = _split(params, [gamma_shape, beta_shape], r, "bn_con")
        gamma, beta = gamma.reshape(-1), beta.reshape(-1)
        scale = gamma / np.sqrt(running_vars + eps)
        return Layer("affine", {"gamma": scale.astype(np.float32), "beta": (beta - scale * running_means)})
    params = r.tensor()
    gamma_shape, beta_shape = r.alias(), r.alias()
    mode = r.integer("the affine_ mode")
    if mode != 0:
        raise r.fail("an affine_ layer in fully-connected mode where a convolutional one was expected")
    gamma, beta = _split(params, [gamma_shape, beta_shape], r, "affine_")
    return Layer("affine", {"gamma": gamma.reshape(-1), "beta": beta.reshape(-1)})


def _pool(r: _Reader, op: Op) -> Layer:
    r.name_of((f"{op.kind}_2",))
    nr, nc, sy, sx, py, px = (r.integer(f"a {op.kind}_ setting") for _ in range(6))
    if (nr, nc, sy, sx) != op.args:
        raise r.fail(f"{op.kind}_ {(nr, nc, sy, sx)} where the architecture has {op.args}")
    return Layer(op.kind, {}, (nr, nc), (sy, sx), (py, px))


def _fc(r: _Reader, op: Op) -> Layer:
    r.name_of(("fc_2",))
    num_outputs, num_inputs = r.integer("fc_ outputs"), r.integer("fc_ inputs")
    params = r.tensor()
    r.alias(), r.alias()  # weights, biases: implied by the sizes above
    bias_mode = r.integer("the fc_ bias mode")
    for _ in range(4):
        r.float()
    if num_outputs != op.args[0] or bias_mode != 1:  # enum fc_bias_mode { FC_HAS_BIAS, FC_NO_BIAS }
        raise r.fail(f"fc_ with {num_outputs} outputs and bias mode {bias_mode}")
    (w,) = _split(params, [(num_inputs, num_outputs)], r, "fc_")
    return Layer("fc", {"weight": np.ascontiguousarray(w.T)})


def _simple(r: _Reader, op: Op) -> Layer:
    r.name_of(({"relu": "relu_", "add_prev": "add_prev_"}[op.kind],))
    return Layer(op.kind, tag=op.args[0] if op.args else 0)


_DETAILS = {
    "con": _con,
    "affine": _affine,
    "relu": _simple,
    "add_prev": _simple,
    "max_pool": _pool,
    "avg_pool": _pool,
    "fc": _fc,
}


def parse_dlib_net(
    data: bytes, ops: tuple[Op, ...] = FACE_RECOGNITION_RESNET, name: str = "<bytes>"
) -> DlibNet:
    """Read a ``loss_metric`` network with the given architecture (input first) from dlib's bytes."""
    r = _Reader(data, name)
    r.version((1,), "the loss layer")
    loss = r.name_of(("loss_metric_2", "loss_metric_"))
    r.float("the loss margin")
    r.float("the loss distance threshold")
    # Versions from the output layer down to the input.
    first_version = 0
    for i, op in enumerate(reversed(ops)):
        if op.kind in ("tag", "skip"):
            r.version((1,), f"{op.kind} layer {len(ops) - i}")
        elif i == len(ops) - 1:
            # The add_layer over the input layer: version 3 adds a trailing sample expansion factor.
            first_version = r.version((2, 3), "the first layer")
        else:
            r.version((2,), f"layer {len(ops) - i} ({op.kind})")
    # The input layer.
    r.name_of(("input_rgb_image_sized",))
    means = (r.float("the red mean"), r.float("the green mean"), r.float("the blue mean"))
    size = (r.integer("the input rows"), r.integer("the input columns"))
    layers: list[Layer] = []
    for i, op in enumerate(ops):
        if op.kind in ("tag", "skip"):
            layers.append(Layer(op.kind, tag=op.args[0]))
            continue
        layers.append(_DETAILS[op.kind](r, op))
        for _ in range(3):  # this_layer_setup_called, gradient_input_is_stale, output disabled
            r.bool()
        r.tensor(), r.tensor()  # x_grad, cached_output
        r.tensor()  # params_grad, or grad_final for the first layer
        if i == 0 and first_version == 3:
            r.integer("the sample expansion factor")
    if r.pos != len(data):
        raise r.fail(f"{len(data) - r.pos} unexpected bytes after the network")
    return DlibNet(size, means, layers, loss)


def load_dlib_net(path: Path, ops: tuple[Op, ...] = FACE_RECOGNITION_RESNET) -> DlibNet:
    """Read a dlib model file; every problem (missing, truncated, not this network) is a WeightsError."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"The identity model file {path} is missing.")
    return parse_dlib_net(path.read_bytes(), ops, name=str(path))
