"""Known weight files (source, sha256, licence), the cache they are fetched into, and safe loading.

``load_state_dict`` is imported on first use so that the catalog and the cache (``faceforge weights list``,
``fetch``, ``verify``) work without importing torch.
"""

from typing import TYPE_CHECKING

from faceforge.weights.cache import default_cache_dir
from faceforge.weights.catalog import CATALOG, WeightsEntry, find_entry
from faceforge.weights.resolve import resolve_weights

if TYPE_CHECKING:
    from faceforge.weights.loading import load_state_dict

__all__ = ["CATALOG", "WeightsEntry", "default_cache_dir", "find_entry", "load_state_dict", "resolve_weights"]


def __getattr__(name: str) -> object:
    if name == "load_state_dict":
        from faceforge.weights.loading import load_state_dict

        return load_state_dict
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
