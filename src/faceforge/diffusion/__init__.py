"""Diffusion face swapping: a Stable Diffusion inpainting model (SD 1.5 or SDXL), optionally with a LoRA
of the source person, repaints the target's face region; see docs/diffusion.md. Heavy imports (torch,
diffusers) happen inside the functions that need them."""
