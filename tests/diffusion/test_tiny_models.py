"""The tiny stacks load offline as the inpainting pipelines of their family and run a step."""

import numpy as np
import pytest


@pytest.mark.parametrize(
    ("fixture", "kind"),
    [("tiny_sd15", "StableDiffusionInpaintPipeline"), ("tiny_sdxl", "StableDiffusionXLInpaintPipeline")],
)
def test_tiny_stack_loads_offline_and_inpaints(
    request: pytest.FixtureRequest, fixture: str, kind: str
) -> None:
    import torch
    from diffusers import AutoPipelineForInpainting
    from PIL import Image

    pipeline = AutoPipelineForInpainting.from_pretrained(
        request.getfixturevalue(fixture), local_files_only=True
    )
    assert type(pipeline).__name__ == kind
    assert pipeline.tokenizer("a face").input_ids[1:-1] == [
        ord("a") + 256,
        ord("f"),
        ord("a"),
        ord("c"),
        ord("e") + 256,
    ]
    image = Image.fromarray(np.full((32, 32, 3), 128, np.uint8))
    mask = Image.new("L", (32, 32), 255)
    out = pipeline(
        prompt="a face",
        image=image,
        mask_image=mask,
        num_inference_steps=2,
        strength=0.5,
        height=32,
        width=32,
        generator=torch.Generator().manual_seed(0),
        output_type="np",
    ).images[0]
    assert out.shape == (32, 32, 3) and np.isfinite(out).all()
