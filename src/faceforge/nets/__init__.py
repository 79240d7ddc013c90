"""Torch modules. The only package in faceforge that imports torch; importing it alone does not."""
