"""The weight files faceforge knows by name: where they are published, their hash, licence and role.

Sources: the official GHOST ``download_models.sh``, facefusion's model registry and VisoMaster's
``models_data.py`` (see ``docs/weights.md``). A sha256 is pinned only where its publisher lists one
(VisoMaster); GHOST publishes none and facefusion publishes CRC-32 values only, so those entries carry
``sha256=None``: the hash of the first download is recorded in the cache manifest and every later check
compares against it (trust on first use). No exact byte sizes are published for any of them, so entries
carry none and files are checked by hash only.

Some files have no stable direct URL (the StyleGAN2 and e4e checkpoints live on Google Drive, which a
plain HTTP client cannot fetch). Their entries are *user-supplied*: no URLs, a ``where_to_get`` note
instead; ``faceforge weights fetch`` says where to get the file and ``faceforge weights add FILE --as NAME``
registers the user's copy (checked against a published sha256 when there is one, else recorded then).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from faceforge.weights.entry import KINDS, WeightsEntry

__all__ = ["CATALOG", "KINDS", "WeightsEntry", "find_entry"]

_GHOST_RELEASES = "https://github.com/sberbank-ai/sber-swap/releases/download"
_VISOMASTER_RELEASES = "https://github.com/visomaster/visomaster-assets/releases/download/v1.0.0"

_GHOST_LICENCE = "Apache-2.0 (ai-forever GHOST; no separate weights licence)"
_INSIGHTFACE_LICENCE = "Non-Commercial research only (InsightFace)"
_INSWAPPER_LICENCE = "Non-Commercial (InsightFace; commercial use by arrangement)"
_SIMSWAP_LICENCE = "Non-Commercial (neuralchen SimSwap)"
_FACEFUSION_GHOST_LICENCE = "Apache-2.0 (ai-forever GHOST, ONNX by facefusion)"
_VISOMASTER_GHOST_LICENCE = "Apache-2.0 (ai-forever GHOST, ONNX by VisoMaster)"
_CONVERTER_LICENCE = "Unknown (facefusion's tag for it was not recorded)"


def _facefusion_urls(base: str, filename: str) -> tuple[str, ...]:
    """facefusion's download providers in its default order: GitHub, Hugging Face, the HF mirror."""
    return (
        f"https://github.com/facefusion/facefusion-assets/releases/download/{base}/{filename}",
        f"https://huggingface.co/facefusion/{base}/resolve/main/{filename}",
        f"https://hf-mirror.com/facefusion/{base}/resolve/main/{filename}",
    )


def _ghost_entries() -> list[WeightsEntry]:
    entries = []
    for blocks, suffix in ((1, "1block"), (2, "2blocks"), (3, "3blocks")):
        main = " (the official default)" if blocks == 2 else ""
        entries.append(
            WeightsEntry(
                name=f"ghost-unet-{suffix}",
                filename=f"G_unet_{suffix}.pth",
                urls=(f"{_GHOST_RELEASES}/sber-swap-v2.0/G_unet_{suffix}.pth",),
                sha256=None,
                licence=_GHOST_LICENCE,
                kind="ghost-generator",
                identity="ghost-arcface-backbone",
                description=(
                    f"GHOST AEI-Net generator, U-Net encoder, {blocks} AAD layer(s) per ResBlk{main}."
                ),
            )
        )
        entries.append(
            WeightsEntry(
                name=f"ghost-d-unet-{suffix}",
                filename=f"D_unet_{suffix}.pth",
                urls=(f"{_GHOST_RELEASES}/sber-swap-v2.0/D_unet_{suffix}.pth",),
                sha256=None,
                licence=_GHOST_LICENCE,
                kind="ghost-discriminator",
                description=f"GHOST multiscale discriminator trained with ghost-unet-{suffix}.",
            )
        )
    entries.append(
        WeightsEntry(
            name="ghost-arcface-backbone",
            filename="backbone.pth",
            urls=(f"{_GHOST_RELEASES}/arcface/backbone.pth",),
            sha256=None,
            licence=_INSIGHTFACE_LICENCE,
            kind="arcface-iresnet100",
            description="ArcFace iResNet-100 (arcface_torch layout) that GHOST uses as its identity encoder.",
        )
    )
    return entries


def _facefusion_entries() -> list[WeightsEntry]:
    def entry(
        name: str,
        base: str,
        filename: str,
        *,
        licence: str,
        kind: str,
        description: str,
        family: str | None = None,
        identity: str | None = None,
        converter: str | None = None,
    ) -> WeightsEntry:
        return WeightsEntry(
            name=name,
            filename=filename,
            urls=_facefusion_urls(base, filename),
            sha256=None,
            licence=licence,
            kind=kind,
            family=family,
            identity=identity,
            converter=converter,
            description=description,
        )

    entries = [
        entry(
            "arcface-w600k-r50",
            "models-3.0.0",
            "arcface_w600k_r50.onnx",
            licence=_INSIGHTFACE_LICENCE,
            kind="onnx-recognizer",
            description="InsightFace ArcFace ResNet-50 (WebFace600K), 112x112 input, 512-d embedding.",
        ),
        entry(
            "inswapper-128",
            "models-3.0.0",
            "inswapper_128.onnx",
            licence=_INSWAPPER_LICENCE,
            kind="onnx-swapper",
            family="inswapper",
            identity="arcface-w600k-r50",
            description="InsightFace inswapper, 128x128 crops; the embedding is mapped by the graph's emap.",
        ),
        entry(
            "inswapper-128-fp16",
            "models-3.0.0",
            "inswapper_128_fp16.onnx",
            licence=_INSWAPPER_LICENCE,
            kind="onnx-swapper",
            family="inswapper",
            identity="arcface-w600k-r50",
            description="inswapper-128 with half-precision weights.",
        ),
        entry(
            "simswap-256",
            "models-3.0.0",
            "simswap_256.onnx",
            licence=_SIMSWAP_LICENCE,
            kind="onnx-swapper",
            family="simswap",
            identity="arcface-w600k-r50",
            converter="crossface-simswap",
            description="SimSwap, 256x256 crops, ImageNet pixel normalisation.",
        ),
        entry(
            "simswap-512-unofficial",
            "models-3.0.0",
            "simswap_unofficial_512.onnx",
            licence=_SIMSWAP_LICENCE,
            kind="onnx-swapper",
            family="simswap",
            identity="arcface-w600k-r50",
            converter="crossface-simswap",
            description="Unofficial SimSwap at 512x512, pixels in [0, 1].",
        ),
        entry(
            "crossface-simswap",
            "models-3.4.0",
            "crossface_simswap.onnx",
            licence=_CONVERTER_LICENCE,
            kind="onnx-converter",
            description="Maps a w600k-r50 embedding to the SimSwap identity space (512 -> 512).",
        ),
        entry(
            "crossface-ghost",
            "models-3.4.0",
            "crossface_ghost.onnx",
            licence=_CONVERTER_LICENCE,
            kind="onnx-converter",
            description="Maps a w600k-r50 embedding to GHOST's iResNet-100 identity space (512 -> 512).",
        ),
    ]
    for blocks in (1, 2, 3):
        entries.append(
            entry(
                f"ghost-{blocks}-256",
                "models-3.0.0",
                f"ghost_{blocks}_256.onnx",
                licence=_FACEFUSION_GHOST_LICENCE,
                kind="onnx-swapper",
                family="ghost",
                identity="arcface-w600k-r50",
                converter="crossface-ghost",
                description=f"facefusion's ONNX export of GHOST G_unet_{blocks}block(s), 256x256 crops.",
            )
        )
    return entries


def _enhancer_entries() -> list[WeightsEntry]:
    """Face and frame enhancers as facefusion publishes them (models-3.0.0; licences as facefusion tags
    them; ``--enhance face=NAME`` / ``--enhance frame=NAME``, see docs/enhance.md)."""
    faces = (
        ("gfpgan-1.4", "gfpgan_1.4.onnx", "gfpgan", "Apache-2.0 (TencentARC GFPGAN)",
         "GFPGAN 1.4, 512-px FFHQ crops."),
        ("codeformer", "codeformer.onnx", "codeformer", "S-Lab-1.0, Non-Commercial (sczhou CodeFormer)",
         "CodeFormer, 512-px FFHQ crops, with its fidelity weight input."),
        ("gpen-bfr-256", "gpen_bfr_256.onnx", "gpen-bfr-256", "Non-Commercial (yangxy GPEN)",
         "GPEN-BFR 256, 256-px crops in the 128-px ArcFace layout."),
        ("gpen-bfr-512", "gpen_bfr_512.onnx", "gpen-bfr-512", "Non-Commercial (yangxy GPEN)",
         "GPEN-BFR 512, 512-px FFHQ crops."),
        ("restoreformer-plus-plus", "restoreformer_plus_plus.onnx", "restoreformer++",
         "Apache-2.0 (wzhouxiff RestoreFormer++)", "RestoreFormer++, 512-px FFHQ crops."),
    )  # fmt: skip
    frames = (
        ("real-esrgan-x2", "real_esrgan_x2.onnx", "Real-ESRGAN x2 upscaler."),
        ("real-esrgan-x4", "real_esrgan_x4.onnx", "Real-ESRGAN x4 upscaler."),
    )
    entries = [
        WeightsEntry(name, filename, _facefusion_urls("models-3.0.0", filename), None, licence,
                     "onnx-face-enhancer", family=family, description=description)
        for name, filename, family, licence, description in faces
    ]  # fmt: skip
    entries += [
        WeightsEntry(name, filename, _facefusion_urls("models-3.0.0", filename), None,
                     "BSD-3-Clause (xinntao Real-ESRGAN)", "onnx-frame-enhancer", description=description)
        for name, filename, description in frames
    ]  # fmt: skip
    return entries


def _visomaster_entries() -> list[WeightsEntry]:
    def entry(
        name: str,
        filename: str,
        sha256: str,
        *,
        licence: str,
        kind: str,
        description: str,
        family: str | None = None,
        identity: str | None = None,
    ) -> WeightsEntry:
        return WeightsEntry(
            name=name,
            filename=filename,
            urls=(f"{_VISOMASTER_RELEASES}/{filename}",),
            sha256=sha256,
            licence=licence,
            kind=kind,
            family=family,
            identity=identity,
            description=description,
        )

    ghost_hashes = {
        1: "304a86bccb325e7fcf5ab4f4f84ba5172e319bccc9de15d299bb436746e2e024",
        2: "25b72c107aabe27fc65ac5bf5377e58eda0929872d4dd3de5d5a9edefc49fa9f",
        3: "f471d4f322903da2bca360aa0d7ab9922e3b0001d683f825ca6b15d865382935",
    }
    entries = [
        entry(
            f"visomaster-ghost-unet-{blocks}-block",
            f"ghost_unet_{blocks}_block.onnx",
            sha256,
            licence=_VISOMASTER_GHOST_LICENCE,
            kind="onnx-swapper",
            family="ghost",
            identity="visomaster-ghost-arcface-backbone",
            description=f"VisoMaster's ONNX export of GHOST G_unet_{blocks} block(s); numeric output name.",
        )
        for blocks, sha256 in ghost_hashes.items()
    ]
    entries += [
        entry(
            "visomaster-ghost-arcface-backbone",
            "ghost_arcface_backbone.onnx",
            "18bb8057d1cd3ca39411b8a4dde485fa55783e08ceecaf2352f551ca39cd1357",
            licence=_INSIGHTFACE_LICENCE,
            kind="onnx-recognizer",
            description="GHOST's ArcFace iResNet-100 as ONNX (VisoMaster); raw, un-normalised embedding.",
        ),
        entry(
            "visomaster-inswapper-128-fp16",
            "inswapper_128.fp16.onnx",
            "6d51a9278a1f650cffefc18ba53f38bf2769bf4bbff89267822cf72945f8a38b",
            licence=_INSWAPPER_LICENCE,
            kind="onnx-swapper",
            family="inswapper",
            identity="visomaster-w600k-r50",
            description="VisoMaster's half-precision inswapper-128.",
        ),
        entry(
            "visomaster-w600k-r50",
            "w600k_r50.onnx",
            "4c06341c33c2ca1f86781dab0e829f88ad5b64be9fba56e56bc9ebdefc619e43",
            licence=_INSIGHTFACE_LICENCE,
            kind="onnx-recognizer",
            description="InsightFace ArcFace ResNet-50 (WebFace600K) as VisoMaster distributes it.",
        ),
    ]
    return entries


def _latent_entries() -> list[WeightsEntry]:
    """StyleGAN2 FFHQ generators (rosinality's PyTorch layout) and the e4e encoder for ``faceforge latent``
    (see docs/latent.md). All on Google Drive without a published sha256: user-supplied, trust on first
    use. The identity loss's ArcFace iResNet-100 is ``ghost-arcface-backbone`` above."""
    nvidia_nc = "Nvidia Source Code License-NC, Non-Commercial (NVIDIA StyleGAN2 FFHQ network"
    return [
        WeightsEntry(
            name="stylegan2-ffhq-1024",
            filename="stylegan2-ffhq-config-f.pt",
            urls=(),
            sha256=None,
            licence=f"{nvidia_nc}, converted by rosinality's convert_weight.py)",
            kind="stylegan2-generator",
            description="StyleGAN2 FFHQ 1024 px config-f generator (g_ema + latent_avg), 18 W+ rows.",
            where_to_get=(
                "the 'StyleGAN2 FFHQ' pretrained-model link in the eladrich/pixel2style2pixel or "
                "omertov/encoder4editing README (or convert NVIDIA's stylegan2-ffhq-config-f.pkl with "
                "rosinality/stylegan2-pytorch's convert_weight.py)"
            ),
        ),
        WeightsEntry(
            name="stylegan2-ffhq-256",
            filename="550000.pt",
            urls=(),
            sha256=None,
            licence=(
                "Unknown (trained by rosinality on FFHQ, a CC BY-NC-SA 4.0 dataset; no weights licence "
                "stated; the code is MIT)"
            ),
            kind="stylegan2-generator",
            description="rosinality's 256 px FFHQ generator (a train.py checkpoint), 14 W+ rows.",
            where_to_get="the 256 px FFHQ checkpoint link in the rosinality/stylegan2-pytorch README",
        ),
        WeightsEntry(
            name="e4e-ffhq-encode",
            filename="e4e_ffhq_encode.pt",
            urls=(),
            sha256=None,
            licence=f"{nvidia_nc} as its decoder; the e4e code is MIT)",
            kind="e4e-encoder",
            description="e4e FFHQ inversion encoder (IR-SE-50) with its 1024 px decoder and latent_avg.",
            where_to_get="the 'FFHQ Inversion' link in the omertov/encoder4editing README",
        ),
    ]


CATALOG: Mapping[str, WeightsEntry] = MappingProxyType(
    {
        entry.name: entry
        for entry in _ghost_entries()
        + _facefusion_entries()
        + _enhancer_entries()
        + _visomaster_entries()
        + _latent_entries()
    }
)


def find_entry(spec: str | os.PathLike[str]) -> WeightsEntry | None:
    """The catalog entry named ``spec``, or the one whose upstream file name is the name of path ``spec``."""
    text = os.fspath(spec)
    if text in CATALOG:
        return CATALOG[text]
    filename = Path(text).name
    return next((entry for entry in CATALOG.values() if entry.filename == filename), None)
