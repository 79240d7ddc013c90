"""``faceforge latent``: StyleGAN2 latent editing on photos (align, invert, mix, swap). Thin wrappers over
:mod:`faceforge.latent`; see ``docs/latent.md``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from faceforge.cli import latent_support as support
from faceforge.cli.declared import DeclaredFlag, with_declared_options
from faceforge.cli.errors import Debug, reported_errors
from faceforge.latent.options import INVERT_DEFAULTS, PRESETS, SWAP_DEFAULTS, MixOptions, OptimiseOptions

app = typer.Typer(
    name="latent",
    help="StyleGAN2 latent editing: FFHQ alignment, inversion, style/expression mixing, identity-loss swap.",
    no_args_is_help=True,
)


@app.command("align")
def align(
    photos: support.Photos,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the aligned crops.")],
    size: Annotated[int, typer.Option("--size", help="Crop size: 256, 512 or 1024.")] = 1024,
    face_index: support.FaceIndex = None,
    overwrite: support.Overwrite = False,
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
        targets = support.checked_outputs(out, names, photos, overwrite)
        _, alignments = support.aligned_photos(photos, size, face_index)
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
    photos: support.Photos,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the latents and the sheet.")],
    generator: support.Generator = None,
    e4e: support.E4E = None,
    method: Annotated[
        str, typer.Option("--method", help="e4e, optimise, or both (optimise from e4e).")
    ] = "optimise",
    face_index: support.FaceIndex = None,
    device: support.Device = "auto",
    overwrite: support.Overwrite = False,
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
        options = support.given(ctx, declared_flags, declared, INVERT_DEFAULTS)
        targets = support.checked_outputs(
            out, [f"{p.stem}.safetensors" for p in photos] + ["sheet.png"], photos, overwrite
        )
        editor = support.load_editor(generator, e4e, device)
        _, alignments = support.aligned_photos(photos, editor.size, face_index)
        faces = face_inputs(alignments, editor.device)
        crops = faces.crops
        columns, scores = [crops], {}
        start = None  # the e4e latents, where the optimisation starts
        if method != "optimise":
            start = latents = editor.encode(crops)
            columns.append(editor.render(start))
            scores["e4e"] = reconstruction_loss(columns[-1], crops)
        noises = None
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
                support.label(cell, f"{name} {float(scores[name][index]):.3f}")
        rows = [np.hstack([column[i] for column in cells]) for i in range(len(photos))]
        write_image(targets[-1], np.vstack(rows), tag=swap_tag("latent-invert"))


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
    generator: support.Generator = None,
    e4e: support.E4E = None,
    recipe: Annotated[
        str, typer.Option("--recipe", help="style (rows 8-18, psi 0) or expression (3-10, 0.5).")
    ] = "style",
    device: support.Device = "auto",
    overwrite: support.Overwrite = False,
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

        if recipe not in PRESETS:
            raise OptionError(f"--recipe takes {' or '.join(PRESETS)}, not '{recipe}'.")
        options = support.given(ctx, declared_flags, declared, PRESETS[recipe])
        target = support.checked_outputs(out.parent, [out.name], [*people, *reference], overwrite)[0]
        editor = support.load_editor(generator, e4e, device)
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


def swap(
    ctx: typer.Context,
    source: Annotated[Path, typer.Argument(help="Photo of the person whose identity is put in.")],
    target: Annotated[Path, typer.Argument(help="Photo whose face is replaced.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The output image.")],
    generator: support.Generator = None,
    e4e: support.E4E = None,
    invert_steps: support.InvertSteps = None,
    identity_net: support.IdentityNet = "dlib",
    identity_weights: support.IdentityWeights = None,
    face_index: support.FaceIndex = None,
    device: support.Device = "auto",
    overwrite: support.Overwrite = False,
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

        result_path = support.checked_outputs(out.parent, [out.name], [source, target], overwrite)[0]
        invert_options, swap_options = support.swap_options(ctx, declared_flags, declared, invert_steps)
        editor = support.load_editor(generator, e4e, device, identity_net, identity_weights)
        (_, target_image), (source_aligned, target_aligned) = support.aligned_photos(
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
    photos: support.Photos,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="The grid image (rows: targets, columns: sources).")
    ],
    generator: support.Generator = None,
    e4e: support.E4E = None,
    invert_steps: support.InvertSteps = None,
    identity_net: support.IdentityNet = "dlib",
    identity_weights: support.IdentityWeights = None,
    device: support.Device = "auto",
    overwrite: support.Overwrite = False,
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
        grid_path = support.checked_outputs(out.parent, [out.name], photos, overwrite)[0]
        invert_options, swap_options = support.swap_options(ctx, declared_flags, declared, invert_steps)
        editor = support.load_editor(generator, e4e, device, identity_net, identity_weights)
        _, alignments = support.aligned_photos(photos, editor.size, None)
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


INVERT_DECLARATIONS = support.declarations(OptimiseOptions, INVERT_DEFAULTS, skip=("identity",))
SWAP_DECLARATIONS = support.declarations(OptimiseOptions, SWAP_DEFAULTS)
app.command("invert")(with_declared_options(invert, INVERT_DECLARATIONS, {}))
app.command("mix")(with_declared_options(mix, support.declarations(MixOptions), {}))
app.command("swap")(with_declared_options(swap, SWAP_DECLARATIONS, {}))
app.command("swap-grid")(with_declared_options(swap_grid, SWAP_DECLARATIONS, {}))
