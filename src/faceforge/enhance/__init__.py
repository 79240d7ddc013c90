"""Post-swap enhancement: face enhancers (ONNX GFPGAN, CodeFormer, GPEN, RestoreFormer++ and faceforge's own
trainable restorer) on the swapped aligned face, frame enhancers (Real-ESRGAN-class upscalers) on the
finished frame, and the identity guard that keeps an enhancer from changing who the face is.

Every enhancer is a processor (:mod:`faceforge.processors.base`); ``--enhance face=NAME[:BLEND]`` and
``--enhance frame=NAME[:BLEND]`` name them, in the order they run (see ``docs/enhance.md``).
"""
