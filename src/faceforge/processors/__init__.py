"""Post-swap stages in one ordered chain: face processors on the swapped aligned crops (enhancers,
restorers), frame processors on the composed frame (upscalers, the visible watermark)."""
