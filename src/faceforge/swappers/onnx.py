"""``--swapper onnx``: published one-shot face swappers exported to ONNX (InsightFace's inswapper, SimSwap,
GHOST), run with onnxruntime.

The family (:mod:`faceforge.swappers.onnx_families`) decides the crop, the pixel range and the identity
conditioning. It comes from ``--family`` when given, else from the weights catalog when the weights are a
catalog name or a known upstream file, else from the crop size the model declares when only one family is
published at that size. The source identity is the ArcFace (w600k_r50) embedding of every source view,
averaged, then mapped the family's way (emap or converter).

Pixel boost (``pixel_boost``, facefusion's option of the same name) swaps on a crop 2 or 4 times the
model's side: the model runs on each strided sub-grid of that crop (every sub-grid is the whole face at
the model's size) and the swapped sub-grids are interleaved back, so inswapper's 128-px output fills a
256 or 512-px crop with detail of its own instead of an enlargement.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from faceforge.analysis.arcface_onnx import ArcFaceOnnx
from faceforge.errors import InputError, WeightsError
from faceforge.geometry.alignment import TEMPLATES, Template
from faceforge.swappers.base import release_models, require_views, stacked_crops
from faceforge.swappers.neural_options import NeuralOptions
from faceforge.swappers.onnx_families import FAMILIES, OnnxFamily
from faceforge.types import AlignedFace, SourceIdentity, SwapResult
from faceforge.weights import WeightsEntry, find_entry, resolve_weights
from faceforge.weights.onnx_session import ModelIO, TensorSpec, create_session, describe_io, run_batch

EMBEDDING_SIZE = 512


class OnnxSwapper:
    """Implements the swapper protocol with an ONNX swapper model and an ONNX ArcFace recogniser.

    ``prepare_source`` returns the ``source`` vector (``(512,)`` float32) fed with every target crop.
    The swapper returns no mask: the compositor's masks apply.
    """

    name = "onnx"
    needs_source = True

    def __init__(self, options: NeuralOptions) -> None:
        if options.weights is None:
            raise WeightsError(
                "The onnx swapper needs a model: give --weights with an .onnx file or a name from "
                "`faceforge weights list` (for example `faceforge weights fetch inswapper-128`, then "
                "--weights inswapper-128)."
            )
        entry = find_entry(options.weights)
        if entry is not None and entry.kind != "onnx-swapper":
            raise WeightsError(
                f"The weights '{options.weights}' are a {entry.kind}, not an ONNX face swapper."
            )
        self.path = resolve_weights(options.weights)
        self._session = create_session(self.path, options.device)
        io = describe_io(self._session)
        self._target, self._source = swapper_inputs(io, self.path)
        self._output = io.outputs[0].name
        self.family = pick_family(options.family, entry, self._target, self.path)
        self.model_size: int = self._target.dim(2) or self.family.default_size
        norm = self.family.pixel_norm(self.model_size)
        if norm is None:
            published = " or ".join(str(side) for side, _ in self.family.sizes)
            raise WeightsError(
                f"{self.path} takes {self.model_size}-px crops, "
                f"but {self.family.name} models take {published}."
            )
        self.boost = pixel_boost_factor(options.pixel_boost, self.model_size)
        self.crop_size: int = self.model_size * self.boost
        check_precision(options.precision, self._target, self.path)
        self.template: Template = TEMPLATES[self.family.template]
        self._mean = np.array(norm.mean, dtype=np.float32).reshape(1, 3, 1, 1)
        self._std = np.array(norm.std, dtype=np.float32).reshape(1, 3, 1, 1)
        self._batched = self._target.dim(0) is None and self._source.dim(0) is None

        self.recogniser, self.converter, self._emap = self._identity_networks(options, entry)

    def _identity_networks(
        self, options: NeuralOptions, entry: WeightsEntry | None
    ) -> tuple[ArcFaceOnnx, EmbeddingConverter | None, np.ndarray | None]:
        """The recogniser, and the converter or the emap, that turn a source face into the ``source``
        vector: the options' files, else the catalog entry's, else the family's defaults."""
        identity = (
            options.identity_weights or (entry.identity if entry else None) or self.family.default_identity
        )
        recogniser = ArcFaceOnnx(resolve_weights(identity), options.device)
        if recogniser.dimensions not in (None, EMBEDDING_SIZE):
            raise WeightsError(
                f"{recogniser.path} gives {recogniser.dimensions}-d embeddings; "
                f"{self.family.name} models take {EMBEDDING_SIZE}-d ones."
            )
        if self.family.identity_map == "emap":
            if options.converter_weights:
                raise InputError(
                    f"{self.family.name} models map the embedding with their own emap and take no "
                    "--converter-weights."
                )
            return recogniser, None, read_emap(self.path)
        converter = options.converter_weights or (entry.converter if entry else self.family.default_converter)
        return (
            recogniser,
            EmbeddingConverter(resolve_weights(converter), options.device) if converter else None,
            None,
        )

    def close(self) -> None:
        """Release the ONNX sessions (the swapper's and its identity networks')."""
        release_models(self, "_session", "recogniser", "converter")

    def prepare_source(self, source: SourceIdentity) -> np.ndarray:
        """The ``source`` vector: every view's raw embedding, averaged, then mapped the family's way."""
        require_views(source)
        crops = np.concatenate([self.recogniser.crops(image, [face]) for image, face in source.views])
        return self.source_vector(self.recogniser.embed_crops(crops).mean(axis=0))

    def source_vector(self, embedding: np.ndarray) -> np.ndarray:
        """The ``source`` input for an averaged raw ArcFace ``embedding``.

        inswapper: the normalised embedding times the graph's emap. SimSwap: the converter's output,
        L2-normalised. GHOST: the converter's output as it is (or the embedding itself when the model's
        identity network needs no converter).
        """
        vector = embedding.astype(np.float32)
        if self._emap is not None:
            vector = _unit(vector) @ self._emap
        elif self.converter is not None:
            vector = self.converter(vector)
        if self.family.normalise_after_map:
            vector = _unit(vector)
        return vector.astype(np.float32)

    def swap(self, targets: Sequence[AlignedFace], prepared: object) -> list[SwapResult]:
        if not targets:
            return []
        crops = implode(stacked_crops(targets, self.crop_size), self.boost)
        pixels = ((crops.astype(np.float32) / 255.0).transpose(0, 3, 1, 2) - self._mean) / self._std
        pixels = pixels.astype(self._target.dtype)
        source = np.repeat(np.asarray(prepared, dtype=self._source.dtype).reshape(1, -1), len(crops), axis=0)
        feeds = {self._target.name: pixels, self._source.name: source}
        output = run_batch(self._session, self._output, feeds, self._batched).astype(np.float32)
        if self.family.denormalise_output:
            output = output * self._std + self._mean
        images = (np.clip(output, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8).transpose(0, 2, 3, 1)
        return [SwapResult(image=np.ascontiguousarray(image)) for image in explode(images, self.boost)]


def pixel_boost_factor(boost: int, model_size: int) -> int:
    """How many times larger than the model's crop the swap crop is (1: no boost)."""
    if not boost or boost == model_size:
        return 1
    if boost % model_size or boost < model_size:
        raise InputError(
            f"--pixel-boost takes a multiple of the model's {model_size}-px crop (for example "
            f"{2 * model_size} or {4 * model_size}), not {boost}."
        )
    return boost // model_size


def implode(crops: np.ndarray, factor: int) -> np.ndarray:
    """Pixel boost: each ``(S, S, 3)`` crop as its ``factor**2`` strided sub-grids ``crop[i::f, j::f]``
    (``(B * f * f, S / f, S / f, 3)``, sub-grid ``i * f + j`` of crop ``b`` at ``b * f * f + i * f + j``).
    Each sub-grid is the whole face at the model's size, offset by a fraction of a pixel."""
    if factor == 1:
        return crops
    count, side = crops.shape[0], crops.shape[1] // factor
    grids = crops.reshape(count, side, factor, side, factor, 3).transpose(0, 2, 4, 1, 3, 5)
    return grids.reshape(count * factor * factor, side, side, 3)


def explode(grids: np.ndarray, factor: int) -> np.ndarray:
    """The inverse of :func:`implode`: the sub-grids re-interleaved into full-size crops."""
    if factor == 1:
        return grids
    side = grids.shape[1]
    count = grids.shape[0] // (factor * factor)
    crops = grids.reshape(count, factor, factor, side, side, 3).transpose(0, 3, 1, 4, 2, 5)
    return crops.reshape(count, side * factor, side * factor, 3)


class EmbeddingConverter:
    """A network mapping a 512-d ArcFace embedding into a swapper's own identity space (facefusion's
    crossface converters for SimSwap and GHOST)."""

    def __init__(self, path: Path, device: str = "auto") -> None:
        self.path = Path(path)
        self._session = create_session(self.path, device)
        io = describe_io(self._session)
        if len(io.inputs) != 1 or not all(
            len(spec.shape) == 2 and spec.dim(1) in (None, EMBEDDING_SIZE)
            for spec in (io.inputs[0], io.outputs[0])
        ):
            raise WeightsError(
                f"{self.path} is not an embedding converter: it declares {io.summary()}, and faceforge "
                f"needs one [N,{EMBEDDING_SIZE}] input and an [N,{EMBEDDING_SIZE}] output."
            )
        self._input = io.inputs[0]
        self._output = io.outputs[0].name

    def __call__(self, embedding: np.ndarray) -> np.ndarray:
        feed = embedding.reshape(1, -1).astype(self._input.dtype)
        return self._session.run([self._output], {self._input.name: feed})[0][0].astype(np.float32)


def swapper_inputs(io: ModelIO, path: Path) -> tuple[TensorSpec, TensorSpec]:
    """The ``target`` and ``source`` inputs, checked against what every family declares."""
    target, source = io.input("target"), io.input("source")
    fits = (
        target is not None
        and source is not None
        and len(io.inputs) == 2
        and len(target.shape) == 4
        and target.dim(1) in (None, 3)
        and target.dim(2) == target.dim(3)
        and len(source.shape) == 2
        and source.dim(1) in (None, EMBEDDING_SIZE)
        and len(io.outputs[0].shape) == 4
    )
    if not fits or target is None or source is None:
        raise WeightsError(
            f"{path} is not a face swapper faceforge can run: it declares {io.summary()}, and faceforge "
            f"needs inputs target[B,3,S,S] and source[B,{EMBEDDING_SIZE}] and a [B,3,S,S] output."
        )
    return target, source


def pick_family(choice: str, entry: WeightsEntry | None, target: TensorSpec, path: Path) -> OnnxFamily:
    """``choice`` unless "auto"; else the catalog's family for the file; else the only family published
    at the model's crop size."""
    if choice != "auto":
        return FAMILIES[choice]
    if entry is not None and entry.family is not None:
        return FAMILIES[entry.family]
    side = target.dim(2)
    matches = [family for family in FAMILIES.values() if side is not None and family.pixel_norm(side)]
    if len(matches) == 1:
        return matches[0]
    choices = ", ".join(FAMILIES)
    if side is None:
        reason = "does not fix its crop size"
    elif matches:
        reason = f"takes {side}-px crops, which more than one kind of model does"
    else:
        reason = f"takes {side}-px crops, which no known kind of model does"
    raise InputError(f"{path} {reason}; say which kind it is with --family ({choices}).")


def check_precision(precision: str, target: TensorSpec, path: Path) -> None:
    """An ONNX model runs in the precision it was exported in: an explicit other precision is an error."""
    declared = "fp16" if target.dtype == np.float16 else "fp32"
    if precision not in ("auto", declared):
        export = "" if precision == "bf16" else f" or use an {precision} export"  # bf16 ONNX is not fed
        raise InputError(
            f"{path} is an {declared} model and ONNX models run in the precision they were exported in; "
            f"drop --precision {precision}{export}."
        )


def read_emap(path: Path) -> np.ndarray:
    """inswapper's emap: the graph's last initializer, a 512×512 matrix applied to the source embedding."""
    graph = onnx.load(str(path)).graph
    if not graph.initializer:
        raise WeightsError(f"{path} has no initializers, so no emap: it is not an inswapper model.")
    last = graph.initializer[-1]
    emap = numpy_helper.to_array(last).astype(np.float32)
    if emap.shape != (EMBEDDING_SIZE, EMBEDDING_SIZE):
        raise WeightsError(
            f"{path} ends with the initializer '{last.name}' of shape {list(emap.shape)}, not the "
            f"{EMBEDDING_SIZE}x{EMBEDDING_SIZE} emap an inswapper model ends with."
        )
    return emap


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-12)
