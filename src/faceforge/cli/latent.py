"""``faceforge latent``: StyleGAN2 latent editing on photos (align, invert, mix, swap). Thin wrappers over
:mod:`faceforge.latent`; see ``docs/latent.md``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from faceforge.cli.declared import DeclaredFlag, given_settings, with_declared_options
from faceforge.cli.errors import Debug, reported_errors
from faceforge.latent.options import INVERT_DEFAULTS, PRESETS, SWAP_DEFAULTS, MixOptions, OptimiseOptions
from faceforge.options import DeclaredOption, declared_options

app = typer.Typer(
    name="latent",
    help="StyleGAN2 latent editing: FFHQ alignment, inversion, style/expression mixing, identity-loss swap.",
    no_args_is_help=True,
)

Photos = Annotated[list[Path], typer.Argument(help="Photos, each with a face.", show_default=False)]
Generator = Annotated[
    str | None,
    typer.Option(
        "--generator",
        "-g",
        help="StyleGAN2 weights: a file or a name from `weights add` (default: the decoder inside --e4e).",
    ),
]
E4E = Annotated[
    str | None, typer.Option("--e4e", help="e4e encoder weights (e4e_ffhq_encode.pt or its name).")
]
FaceIndex = Annotated[
    int | None, typer.Option("--face-index", help="Use the N-th face, counting from 0, left to right.")
]
Overwrite = Annotated[bool, typer.Option("--overwrite", "-y", help="Replace existing outputs.")]
Device = Annotated[str, typer.Option("--device", help="auto, cpu, cuda or cuda:N.")]


def _declarations(
    cls: type, defaults: object | None = None, skip: tuple[str, ...] = ()
) -> list[DeclaredOption]:
    """The declared options of ``cls`` as flags, showing ``defaults``' values as their defaults."""
    found = [opt for opt in declared_options(cls) if opt.key not in skip]
    return found if defaults is None else [replace(opt, default=getattr(defaults, opt.key)) for opt in found]


def _given(ctx: typer.Context, flags: Sequence[DeclaredFlag], declared: dict[str, Any], base: Any) -> Any:
    """``base`` with the declared options given on the command line."""
    return replace(base, **given_settings(ctx, flags, declared, "latent"))


def _device(name: str):  # -> torch.device
    import torch

    from faceforge.options import check_device

    check_device(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _editor(
    generator: str | None,
    e4e: str | None,
    device: str,
    identity: str = "dlib",
    identity_weights: str | None = None,
):
    from faceforge.errors import OptionError
    from faceforge.latent.checkpoints import load_e4e, load_generator
    from faceforge.latent.editor import LatentEditor
    from faceforge.weights import resolve_weights

    arcface = None
    if identity == "arcface":
        from faceforge.analysis.crop_identity import DEFAULT_ARCFACE_WEIGHTS
        from faceforge.latent.losses import ArcFaceIdentity
        from faceforge.nets.iresnet import iresnet_from_state_dict
        from faceforge.weights.loading import load_state_dict

        path = resolve_weights(identity_weights or DEFAULT_ARCFACE_WEIGHTS)
        arcface = ArcFaceIdentity(iresnet_from_state_dict(load_state_dict(path)))
    elif identity != "dlib":
        raise OptionError(f"--identity-net takes dlib or arcface, not '{identity}'.")

    if generator is None and e4e is None:
        raise OptionError("Give the StyleGAN2 weights with --generator (or an e4e checkpoint with --e4e).")
    loaded = load_generator(resolve_weights(generator if generator is not None else e4e))
    for note in loaded.notes():
        typer.echo(note, err=True)
    encoder = load_e4e(resolve_weights(e4e), loaded) if e4e is not None else None
    return LatentEditor(loaded, encoder, _device(device), identity=arcface)


def _aligned(paths: list[Path], size: int, face_index: int | None, indexed: int | None = None):
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


def _outputs(folder: Path, names: list[str], inputs: list[Path], overwrite: bool) -> list[Path]:
    from faceforge.errors import OptionError
    from faceforge.outputs import check_output

    if len(set(names)) != len(names):
        raise OptionError("Two photos share a file name; their outputs would collide.")
    return [check_output(folder / name, inputs, overwrite) for name in names]


@app.command("align")
def align(
    photos: Photos,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the aligned crops.")],
    size: Annotated[int, typer.Option("--size", help="Crop size: 256, 512 or 1024.")] = 1024,
    face_index: FaceIndex = None,
    overwrite: Overwrite = False,
    debug: Debug = False,
) -> None:
    """FFHQ-align the face of each photo: PNG crops plus the transform (.json) kept for paste-back."""
    with reported_errors(debug):
        from faceforge.errors import OptionError
        from faceforge.latent.align import SIZES
        from faceforge.media.atomic import atomic_output
        from faceforge.media.images import write_image

        if size not in SIZES:
            raise OptionError(f"--size takes {', '.join(map(str, SIZES))}, not {size}.")
        names = [f"{path.stem}.png" for path in photos]
        targets = _outputs(out, names, photos, overwrite)
        _, alignments = _aligned(photos, size, face_index)
        out.mkdir(parents=True, exist_ok=True)
        for path, target, alignment in zip(photos, targets, alignments, strict=True):
            write_image(target, alignment.image)
            record = {
                "photo": str(path),
                "size": size,
                "matrix": alignment.matrix.tolist(),
                "quad": alignment.geometry.quad.tolist(),
            }
            with atomic_output(target.with_suffix(".json")) as temp:
                temp.write_text(json.dumps(record, indent=1))
            typer.echo(f"{path} -> {target}")


def invert(
    ctx: typer.Context,
    photos: Photos,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the latents and the sheet.")],
    generator: Generator = None,
    e4e: E4E = None,
    method: Annotated[
        str, typer.Option("--method", help="e4e, optimise, or both (optimise from e4e).")
    ] = "optimise",
    face_index: FaceIndex = None,
    device: Device = "auto",
    overwrite: Overwrite = False,
    debug: Debug = False,
    *,
    declared_flags: Sequence[DeclaredFlag] = (),
    **declared: Any,
) -> None:
    """Invert photos into W+: .safetensors latents and a sheet original | e4e | optimised with scores."""
    with reported_errors(debug):
        import numpy as np

        from faceforge.errors import OptionError
        from faceforge.latent.editor import face_inputs, to_images
        from faceforge.latent.files import save_latent
        from faceforge.latent.losses import PERCEPTUAL_NAME, reconstruction_loss
        from faceforge.media.images import write_image
        from faceforge.pipeline.provenance import swap_tag

        if method not in ("e4e", "optimise", "both"):
            raise OptionError(f"--method takes e4e, optimise or both, not '{method}'.")
        if method != "optimise" and e4e is None:
            raise OptionError(f"--method {method} needs the e4e weights (--e4e FILE).")
        options = _given(ctx, declared_flags, declared, INVERT_DEFAULTS)
        targets = _outputs(out, [f"{p.stem}.safetensors" for p in photos] + ["sheet.png"], photos, overwrite)
        editor = _editor(generator, e4e, device)
        _, alignments = _aligned(photos, editor.size, face_index)
        faces = face_inputs(alignments, editor.device)
        crops = faces.crops
        columns, scores = [crops], {}
        start = None
        if method != "optimise":
            start = editor.encode(crops)
            columns.append(editor.render(start))
            scores["e4e"] = reconstruction_loss(columns[-1], crops)
        noises = None
        latents = start
        if method != "e4e":
            result = editor.invert(faces, start, options)
            latents, noises = result.wplus, result.noises
            columns.append(editor.render(latents, noises))
            scores["optimised"] = reconstruction_loss(columns[-1], crops)
        out.mkdir(parents=True, exist_ok=True)
        for index, (path, target) in enumerate(zip(photos, targets[:-1], strict=True)):
            meta = {
                "photo": str(path),
                "method": method,
                "size": str(editor.size),
                "perceptual": PERCEPTUAL_NAME,
            }
            meta |= {f"mse_{key}": f"{value[index]:.5f}" for key, value in scores.items()}
            save_latent(
                target, latents[index], meta, [n[index : index + 1] for n in noises] if noises else None
            )
            typer.echo(
                f"{path} -> {target} ({', '.join(f'{k} MSE {v[index]:.4f}' for k, v in scores.items())})"
            )
        cells = [to_images(column) for column in columns]
        for column, name in zip(cells[1:], scores, strict=True):
            for index, cell in enumerate(column):
                _label(cell, f"{name} {float(scores[name][index]):.3f}")
        rows = [np.hstack([column[i] for column in cells]) for i in range(len(photos))]
        write_image(targets[-1], np.vstack(rows), tag=swap_tag("latent-invert"))


def _label(cell, text: str) -> None:
    """Write ``text`` (a method and its reconstruction MSE) into the top-left corner of a sheet cell."""
    import cv2

    scale = max(cell.shape[0] / 512, 0.25)
    thickness = max(round(scale * 2), 1)
    origin = (4, int(18 * scale) + 4)
    cv2.putText(cell, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thickness + 2, cv2.LINE_AA)
    cv2.putText(cell, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thickness, cv2.LINE_AA)


def mix(
    ctx: typer.Context,
    people: Annotated[list[Path], typer.Argument(help="Latent files (from `latent invert`) of the people.")],
    reference: Annotated[
        list[Path],
        typer.Option(
            "--reference", "-r", help="Latent file of a style or expression reference (repeatable)."
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="The grid image (rows: people, columns: references).")
    ],
    generator: Generator = None,
    e4e: E4E = None,
    preset: Annotated[
        str, typer.Option("--preset", help="style (rows 8-18, psi 0) or expression (3-10, 0.5).")
    ] = "style",
    device: Device = "auto",
    overwrite: Overwrite = False,
    debug: Debug = False,
    *,
    declared_flags: Sequence[DeclaredFlag] = (),
    **declared: Any,
) -> None:
    """Mix W+ layer ranges of people with references; writes the grid with the originals on its edges."""
    with reported_errors(debug):
        import numpy as np
        import torch

        from faceforge.errors import OptionError
        from faceforge.latent.editor import to_images
        from faceforge.latent.files import check_rows, load_latent
        from faceforge.latent.mix import mix_grid
        from faceforge.media.images import write_image
        from faceforge.pipeline.provenance import swap_tag

        if preset not in PRESETS:
            raise OptionError(f"--preset takes {' or '.join(PRESETS)}, not '{preset}'.")
        options = _given(ctx, declared_flags, declared, PRESETS[preset])
        target = _outputs(out.parent, [out.name], [*people, *reference], overwrite)[0]
        editor = _editor(generator, e4e, device)
        g = editor.generator.generator

        def read(paths: list[Path]) -> torch.Tensor:
            latents = []
            for path in paths:
                wplus, _, _ = load_latent(path)
                check_rows(wplus, g.n_latent, g.config.style_dim, path)
                latents.append(wplus)
            return torch.stack(latents).to(editor.device)

        persons, refs = read(people), read(reference)
        grid = mix_grid(persons, refs, options)
        blank = np.full((editor.size, editor.size, 3), 255, dtype=np.uint8)
        header = [blank, *to_images(editor.render(refs))]
        rows = [np.hstack(header)]
        originals = to_images(editor.render(persons))
        for index in range(len(people)):
            rows.append(np.hstack([originals[index], *to_images(editor.render(grid[index]))]))
        write_image(target, np.vstack(rows), tag=swap_tag("latent-mix"))
        typer.echo(f"rows {options.first}-{options.last}, psi {options.psi} -> {target}")


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


def _swap_options(
    ctx: typer.Context, flags: Sequence[DeclaredFlag], declared: dict[str, Any], invert_steps: int | None
) -> tuple[OptimiseOptions, OptimiseOptions]:
    """The target inversion's options (its steps from --invert-steps, the learning rate shared) and the
    swap's."""
    swap_options = _given(ctx, flags, declared, SWAP_DEFAULTS)
    steps = invert_steps if invert_steps is not None else INVERT_DEFAULTS.steps
    return replace(INVERT_DEFAULTS, steps=steps, lr=swap_options.lr), swap_options


def swap(
    ctx: typer.Context,
    source: Annotated[Path, typer.Argument(help="Photo of the person whose identity is put in.")],
    target: Annotated[Path, typer.Argument(help="Photo whose face is replaced.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The output image.")],
    generator: Generator = None,
    e4e: E4E = None,
    invert_steps: InvertSteps = None,
    identity_net: IdentityNet = "dlib",
    identity_weights: IdentityWeights = None,
    face_index: FaceIndex = None,
    device: Device = "auto",
    overwrite: Overwrite = False,
    debug: Debug = False,
    *,
    declared_flags: Sequence[DeclaredFlag] = (),
    **declared: Any,
) -> None:
    """Swap by latent optimisation under an identity loss toward SOURCE, pasted back into TARGET."""
    with reported_errors(debug):
        from faceforge.compose.compositor import Compositor
        from faceforge.latent.editor import background_weight, face_inputs, paste_back, to_images
        from faceforge.media.images import write_image
        from faceforge.pipeline.provenance import swap_tag

        result_path = _outputs(out.parent, [out.name], [source, target], overwrite)[0]
        invert_options, swap_options = _swap_options(ctx, declared_flags, declared, invert_steps)
        editor = _editor(generator, e4e, device, identity_net, identity_weights)
        (_, target_image), (source_aligned, target_aligned) = _aligned(
            [source, target], editor.size, face_index, indexed=1
        )
        targets = face_inputs([target_aligned], editor.device)
        start = editor.encode(targets.crops) if editor.encoder is not None else None
        inversion = editor.invert(targets, start, invert_options)
        compositor = Compositor()
        try:
            background = background_weight(target_image, target_aligned, compositor)
            sources = face_inputs([source_aligned], editor.device)
            result = editor.swap(targets, sources, inversion, background, swap_options)
            crop = to_images(editor.render(result.wplus, result.noises))[0]
            frame = paste_back(target_image, target_aligned, crop, compositor)
        finally:
            compositor.close()
        write_image(result_path, frame, tag=swap_tag("latent", faces_swapped=1))
        before, after = float(result.start["identity"][0]), float(result.end["identity"][0])
        typer.echo(f"identity distance to the source {before:.3f} -> {after:.3f}; {result_path}")


def swap_grid(
    ctx: typer.Context,
    photos: Photos,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="The grid image (rows: targets, columns: sources).")
    ],
    generator: Generator = None,
    e4e: E4E = None,
    invert_steps: InvertSteps = None,
    identity_net: IdentityNet = "dlib",
    identity_weights: IdentityWeights = None,
    device: Device = "auto",
    overwrite: Overwrite = False,
    debug: Debug = False,
    *,
    declared_flags: Sequence[DeclaredFlag] = (),
    **declared: Any,
) -> None:
    """Each photo's face with each other photo's identity: generated crops, the inversions on the diagonal."""
    with reported_errors(debug):
        import numpy as np

        from faceforge.errors import OptionError
        from faceforge.latent.editor import face_inputs, to_images
        from faceforge.media.images import write_image
        from faceforge.pipeline.provenance import swap_tag

        if len(photos) < 2:
            raise OptionError("swap-grid needs at least two photos.")
        grid_path = _outputs(out.parent, [out.name], photos, overwrite)[0]
        invert_options, swap_options = _swap_options(ctx, declared_flags, declared, invert_steps)
        editor = _editor(generator, e4e, device, identity_net, identity_weights)
        _, alignments = _aligned(photos, editor.size, None)
        faces = face_inputs(alignments, editor.device)
        start = editor.encode(faces.crops) if editor.encoder is not None else None
        inversion = editor.invert(faces, start, invert_options)
        columns = []
        for index in range(len(photos)):
            source = face_inputs([alignments[index]] * len(photos), editor.device)
            result = editor.swap(faces, source, inversion, None, swap_options)
            cells = to_images(editor.render(result.wplus, result.noises))
            cells[index] = to_images(
                editor.render(
                    inversion.wplus[index : index + 1], [n[index : index + 1] for n in inversion.noises]
                )
            )[0]
            columns.append(cells)
            distances = ", ".join(f"{float(d):.3f}" for d in result.end["identity"])
            typer.echo(f"source {photos[index].name}: identity distances {distances}")
        rows = [np.hstack([columns[j][i] for j in range(len(photos))]) for i in range(len(photos))]
        write_image(
            grid_path, np.vstack(rows), tag=swap_tag("latent", faces_swapped=len(photos) ** 2 - len(photos))
        )
        typer.echo(f"{len(photos)}x{len(photos)} grid -> {grid_path}")


INVERT_DECLARATIONS = _declarations(OptimiseOptions, INVERT_DEFAULTS, skip=("identity",))
SWAP_DECLARATIONS = _declarations(OptimiseOptions, SWAP_DEFAULTS)
app.command("invert")(with_declared_options(invert, INVERT_DECLARATIONS, {}))
app.command("mix")(with_declared_options(mix, _declarations(MixOptions), {}))
app.command("swap")(with_declared_options(swap, SWAP_DECLARATIONS, {}))
app.command("swap-grid")(with_declared_options(swap_grid, SWAP_DECLARATIONS, {}))
