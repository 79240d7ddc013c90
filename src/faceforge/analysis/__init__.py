"""Face analysis: detection, dense landmarks, identity embeddings, tracking and smoothing."""
