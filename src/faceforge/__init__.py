"""faceforge: face swapping for consented, clearly labelled synthetic media.

The API lives in :mod:`faceforge.api`; its functions are importable from here. They load on first use,
so ``import faceforge`` stays cheap.
"""

from typing import Any

from faceforge.version import __version__

__all__ = ["SwapConfig", "SwapSession", "__version__", "swap_image", "swap_path", "swap_video"]


def __getattr__(name: str) -> Any:
    if name in ("swap_image", "swap_video", "swap_path"):
        from faceforge import api

        return getattr(api, name)
    if name == "SwapConfig":
        from faceforge.config import SwapConfig

        return SwapConfig
    if name == "SwapSession":
        from faceforge.pipeline.session import SwapSession

        return SwapSession
    raise AttributeError(f"module 'faceforge' has no attribute {name!r}")
