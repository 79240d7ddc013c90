"""Training of one-shot swappers (GHOST's AEI-Net recipe): data, losses, the trainer, model folders."""
