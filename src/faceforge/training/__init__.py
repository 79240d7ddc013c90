"""Training of swap models: facesets as datasets, augmentation, losses, the trainer.

``augment`` is numpy and OpenCV only (it runs in data-loader workers); ``data``, ``losses`` and the trainer
use torch. Importing this package alone imports nothing heavy.
"""
