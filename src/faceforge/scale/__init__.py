"""Batch jobs on Ray: many inputs, or one long video in segments, on workers that load the models once,
with a resumable job record (see docs/scale-out.md)."""
