"""Alignment templates, similarity transforms, piecewise-affine mesh warps and head pose."""
