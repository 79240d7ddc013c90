"""Batch jobs on Ray: many inputs, or one long video in segments, on workers that load the models once,
with a resumable job record (see docs/scale-out.md)."""

from enum import StrEnum


class CutKind(StrEnum):
    """Where ``batch swap|convert --cuts`` may cut a video (see :mod:`faceforge.scale.cuts`): only at
    scene cuts (every frame renders as the plain run does) or at keyframes (one long shot is cut too)."""

    scenes = "scenes"
    keyframes = "keyframes"
