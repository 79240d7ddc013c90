"""faceforge: face swapping for consented, clearly labelled synthetic media."""

__version__ = "0.1.0"
