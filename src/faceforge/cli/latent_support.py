"""Shared pieces of the ``faceforge latent`` commands: argument types, weights and photo loading, output
checks, flags from the option declarations, the sheet labels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from faceforge.cli.declared import DeclaredFlag, given_settings
from faceforge.latent.options import INVERT_DEFAULTS, SWAP_DEFAULTS, OptimiseOptions
from faceforge.options import DeclaredOption, declared_options

Photos = Annotated[list[Path], typer.Argument(help="Photos, each with a face.", show_default=False)]
Generator = Annotated[
    str | None,
    typer.Option(
        "--generator",
        "-g",
        help="StyleGAN2 weights: a file, or a name added with `weights add` (stylegan2-ffhq-1024, "
        "stylegan2-ffhq-256 or your own) [default: the decoder inside --e4e].",
    ),
]
E4E = Annotated[
    str | None,
    typer.Option("--e4e", help="e4e encoder weights: a file, or an added name such as e4e-ffhq-encode."),
]
GENERATOR_KINDS = ("stylegan2-generator", "e4e-encoder")  # an e4e checkpoint carries its decoder
FaceIndex = Annotated[
    int | None, typer.Option("--face-index", help="Use the N-th face, counting from 0, left to right.")
]
Overwrite = Annotated[bool, typer.Option("--overwrite", "-y", help="Replace existing outputs.")]
Device = Annotated[str, typer.Option("--device", help="auto, cpu, cuda or cuda:N.")]


def declarations(
    cls: type, defaults: object | None = None, skip: tuple[str, ...] = ()
) -> list[DeclaredOption]:
    """The declared options of ``cls`` as flags, showing ``defaults``' values as their defaults."""
    found = [opt for opt in declared_options(cls) if opt.key not in skip]
    return found if defaults is None else [replace(opt, default=getattr(defaults, opt.key)) for opt in found]


def given(ctx: typer.Context, flags: Sequence[DeclaredFlag], declared: dict[str, Any], base: Any) -> Any:
    """``base`` with the declared options given on the command line."""
    return replace(base, **given_settings(ctx, flags, declared, "latent"))


def torch_device(name: str):  # -> torch.device
    import torch

    from faceforge.options import check_device

    check_device(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def weights_of_kind(spec: str, kinds: tuple[str, ...], what: str):  # -> Path
    """``spec`` resolved through the weights registry, refused in one sentence when it names a catalog
    entry of another kind (an ONNX swapper given as the generator, say)."""
    from faceforge.errors import WeightsError
    from faceforge.weights import find_entry, resolve_weights

    entry = find_entry(spec)
    if entry is not None and entry.kind not in kinds:
        raise WeightsError(f"The weights '{spec}' are of the kind {entry.kind}, not {what}.")
    return resolve_weights(spec)


def load_editor(
    generator: str | None,
    e4e: str | None,
    device: str,
    identity: str = "dlib",
    identity_weights: str | None = None,
):
    from faceforge.errors import OptionError
    from faceforge.latent.checkpoints import load_e4e, load_generator
    from faceforge.latent.editor import LatentEditor

    arcface = None
    if identity == "arcface":
        from faceforge.analysis.crop_identity import DEFAULT_ARCFACE_WEIGHTS
        from faceforge.latent.losses import ArcFaceIdentity
        from faceforge.nets.iresnet import iresnet_from_state_dict
        from faceforge.weights.loading import load_state_dict

        path = weights_of_kind(
            identity_weights or DEFAULT_ARCFACE_WEIGHTS, ("arcface-iresnet100",), "an ArcFace iResNet"
        )
        arcface = ArcFaceIdentity(iresnet_from_state_dict(load_state_dict(path)))
    elif identity != "dlib":
        raise OptionError(f"--identity-net takes dlib or arcface, not '{identity}'.")

    e4e_path = weights_of_kind(e4e, ("e4e-encoder",), "an e4e encoder") if e4e is not None else None
    generator_path = (
        weights_of_kind(generator, GENERATOR_KINDS, "a StyleGAN2 generator")
        if generator is not None
        else e4e_path
    )
    if generator_path is None:
        raise OptionError("Give the StyleGAN2 weights with --generator (or an e4e checkpoint with --e4e).")
    loaded = load_generator(generator_path)
    for note in loaded.notes():
        typer.echo(note, err=True)
    encoder = load_e4e(e4e_path, loaded) if e4e_path is not None else None
    return LatentEditor(loaded, encoder, torch_device(device), identity=arcface)


def aligned_photos(paths: list[Path], size: int, face_index: int | None, indexed: int | None = None):
    """The photos and the FFHQ crops of their faces; ``face_index`` applies to every photo, or only to
    photo number ``indexed`` when that is given (the swap's target)."""
    from faceforge.analysis.analyser import FaceAnalyser
    from faceforge.latent.editor import align_photo
    from faceforge.media.images import read_image

    images = [read_image(path) for path in paths]
    with FaceAnalyser() as analyser:
        return images, [
            align_photo(
                analyser.faces(image), image, size, path.name, face_index if indexed in (None, i) else None
            )
            for i, (image, path) in enumerate(zip(images, paths, strict=True))
        ]


def checked_outputs(folder: Path, names: list[str], inputs: list[Path], overwrite: bool) -> list[Path]:
    from faceforge.errors import OptionError
    from faceforge.outputs import check_output

    if len(set(names)) != len(names):
        raise OptionError("Two photos share a file name; their outputs would collide.")
    return [check_output(folder / name, inputs, overwrite) for name in names]


IdentityNet = Annotated[
    str, typer.Option("--identity-net", help="Identity network of the loss: dlib (bundled) or arcface.")
]
IdentityWeights = Annotated[
    str | None,
    typer.Option(
        "--identity-weights", help="ArcFace iResNet-50/100 weights [default: ghost-arcface-backbone]."
    ),
]
InvertSteps = Annotated[
    int | None, typer.Option("--invert-steps", help="Steps of the targets' inversion [default: 100].")
]


def swap_options(
    ctx: typer.Context, flags: Sequence[DeclaredFlag], declared: dict[str, Any], invert_steps: int | None
) -> tuple[OptimiseOptions, OptimiseOptions]:
    """The target inversion's options (its steps from --invert-steps, the learning rate shared) and the
    swap's."""
    swap_options = given(ctx, flags, declared, SWAP_DEFAULTS)
    steps = invert_steps if invert_steps is not None else INVERT_DEFAULTS.steps
    return replace(INVERT_DEFAULTS, steps=steps, lr=swap_options.lr), swap_options


def label(cell, text: str) -> None:
    """Write ``text`` (a method and its reconstruction MSE) into the top-left corner of a sheet cell."""
    import cv2

    scale = max(cell.shape[0] / 512, 0.25)
    thickness = max(round(scale * 2), 1)
    origin = (4, int(18 * scale) + 4)
    cv2.putText(cell, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thickness + 2, cv2.LINE_AA)
    cv2.putText(cell, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thickness, cv2.LINE_AA)
