"""Swappers: one module per swapper behind the small protocol in ``base``."""
