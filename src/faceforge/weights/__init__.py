"""Known weight files (source, sha256, licence), the cache they are fetched into, and safe loading."""

from faceforge.weights.cache import default_cache_dir
from faceforge.weights.catalog import CATALOG, WeightsEntry, find_entry
from faceforge.weights.loading import load_state_dict
from faceforge.weights.resolve import resolve_weights

__all__ = ["CATALOG", "WeightsEntry", "default_cache_dir", "find_entry", "load_state_dict", "resolve_weights"]
