"""The ``faceforge`` command: one module per verb group, thin wrappers over the API."""
