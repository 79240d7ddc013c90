"""Reading trained model folders: the inference side of what the trainers write.

Swappers load models through this package; :mod:`faceforge.training` imports it to write the same
folders. Nothing here imports training, the faceset store or augmentation.
"""
