"""Live mode (``faceforge live``): swap a camera, file or stream frame by frame, dropping frames
rather than lagging (:mod:`faceforge.live.stream`), from :mod:`~faceforge.live.sources` to
:mod:`~faceforge.live.sinks`."""
