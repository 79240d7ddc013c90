"""One published weight file, as the catalog (``faceforge.weights.catalog``) describes it."""

from __future__ import annotations

from dataclasses import dataclass

KINDS = (
    "ghost-generator",
    "ghost-discriminator",
    "arcface-iresnet100",
    "onnx-swapper",
    "onnx-recognizer",
    "onnx-converter",
    "onnx-face-enhancer",
    "onnx-frame-enhancer",
    "stylegan2-generator",
    "e4e-encoder",
)


@dataclass(frozen=True, slots=True)
class WeightsEntry:
    """One published weight file."""

    name: str  # the catalog name, e.g. "ghost-unet-2blocks"
    filename: str  # the upstream file name, e.g. "G_unet_2blocks.pth"
    urls: tuple[str, ...]  # mirrors, tried in order; empty for a user-supplied file
    sha256: str | None  # None: the publisher lists none; the first download's hash is recorded
    licence: str
    kind: str  # one of KINDS
    family: str | None = None  # onnx swappers: "inswapper" | "simswap" | "ghost"
    identity: str | None = None  # the identity network whose embedding this model expects
    converter: str | None = None  # the embedding converter it needs, if any
    description: str = ""
    where_to_get: str | None = None  # user-supplied files only: where the user downloads it themselves

    @property
    def user_supplied(self) -> bool:
        """Whether faceforge cannot download the file itself: the user gets it and adds it."""
        return self.where_to_get is not None

    def add_command(self) -> str:
        return f"faceforge weights add FILE --as {self.name}"

    def restore_command(self) -> str:
        """What to run to (re)place this file in the cache."""
        return self.add_command() if self.user_supplied else f"faceforge weights fetch {self.name}"

    def how_to_get(self) -> str:
        """For a user-supplied file, the end of a sentence: where to get it and how to register it."""
        return f"get {self.filename} from {self.where_to_get}, then run `{self.add_command()}`"

    @property
    def non_commercial(self) -> bool:
        """Whether the licence forbids commercial use (or is not known to allow it)."""
        licence = self.licence.lower()
        return "non-commercial" in licence or licence.startswith("unknown")
