"""``faceforge train-restorer``: faceforge's own face restorer trained on a faceset's crops degraded the way
swapped faces are (see :mod:`faceforge.training.restorer.degrade`)."""
