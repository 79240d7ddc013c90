"""Runs over images, folders and videos: selection, batching, threading, progress."""
