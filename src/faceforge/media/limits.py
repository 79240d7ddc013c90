"""Limits on untrusted input, shared by the readers and the option declarations (a leaf: no imports)."""

from __future__ import annotations

#: Largest picture (width x height) decoded from an image file or from one video frame: 80 MP holds any
#: camera photo, while a crafted file declaring 10000x10000 is refused before any pixel is decoded.
DEFAULT_MAX_PIXELS = 80_000_000

#: Most source/target pairs one evaluation takes (a pairs CSV's rows, or sources x targets from folders).
DEFAULT_MAX_PAIRS = 10_000
