"""faceforge's version, in a module of its own so that stages can name it without importing the package's
API facade (``faceforge/__init__.py``), which imports the stages."""

__version__ = "0.1.0"
