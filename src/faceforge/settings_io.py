"""Reading settings dataclasses back from their JSON form: the one refusal of keys a dataclass does not know.

Model and training configurations are saved into model folders; a folder written by a newer faceforge may
hold settings this one cannot honour, and dropping them silently would train or swap with something else.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any


def refuse_unknown_keys(cls: type, data: Mapping[str, Any], what: str) -> None:
    """Raise ``ValueError`` naming ``what`` when ``data`` has keys that are not fields of the dataclass
    ``cls``."""
    unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)})
    if unknown:
        raise ValueError(f"Unknown {what} settings: {', '.join(unknown)} (written by a newer faceforge?).")
