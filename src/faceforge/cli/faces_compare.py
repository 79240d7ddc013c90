"""``faceforge faces compare``: identity distances between the main faces of images (registered on the
``faces`` group by :mod:`faceforge.cli.faces`), and the identity backend choice the faces commands share."""

from __future__ import annotations

import itertools
import json
from enum import Enum
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console

from faceforge.analysis.identity import DEFAULT_IDENTITY_ENCODER, IDENTITY_ENCODERS
from faceforge.cli.errors import Debug, reported_errors
from faceforge.cli.faces_report import print_comparison
from faceforge.errors import NoFaceError, OptionError

IdentityName = Enum("IdentityName", {key: key for key in IDENTITY_ENCODERS}, type=str)  # type: ignore[misc]
DEFAULT_IDENTITY_NAME = IdentityName(DEFAULT_IDENTITY_ENCODER)


def compare(
    images: Annotated[
        list[Path], typer.Argument(help="Two or more images; the largest face of each is used.")
    ],
    threshold: Annotated[
        float | None,
        typer.Option(
            help="Distance below which two faces count as the same person \\[default: the backend's]."
        ),
    ] = None,
    identity: Annotated[
        IdentityName, typer.Option("--identity-backend", help="Runtime of dlib's identity network.")
    ] = DEFAULT_IDENTITY_NAME,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    debug: Debug = False,
) -> None:
    """Identity distance between the main faces of the given images, with a same/different verdict."""
    console = Console()
    with reported_errors(debug):
        if len(images) < 2:
            raise OptionError("faces compare needs at least two images.")
        from faceforge.analysis.analyser import FaceAnalyser
        from faceforge.analysis.identity import create_identity_encoder
        from faceforge.analysis.sources import main_face
        from faceforge.media.images import read_image

        encoder = create_identity_encoder(identity.value)
        limit = encoder.threshold if threshold is None else threshold
        if not limit > 0:
            raise OptionError("--threshold must be a positive distance.")
        with FaceAnalyser(identity=encoder) as analyser:
            embeddings: list[np.ndarray] = []
            for path in images:
                image = read_image(path)
                embedding = main_face(analyser, image, str(path)).embedding
                if embedding is None:
                    raise NoFaceError(f"No identity could be computed for the main face of {path}.")
                embeddings.append(embedding)
        pairs = [
            (i, j, float(encoder.distance(a, b)))
            for (i, a), (j, b) in itertools.combinations(enumerate(embeddings), 2)
        ]
        if as_json:
            print(json.dumps({
                "backend": encoder.name, "threshold": limit, "images": [str(p) for p in images],
                "pairs": [
                    {"a": str(images[i]), "b": str(images[j]), "distance": round(d, 6),
                     "same_person": d < limit}
                    for i, j, d in pairs
                ],
            }))  # fmt: skip
            return
        print_comparison(console, encoder.name, limit, images, pairs)
