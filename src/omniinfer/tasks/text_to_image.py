"""text_to_image: a prompt in, a PIL image out."""

from __future__ import annotations

from typing import Any

from omniinfer._core.context import ClientContext
from omniinfer._core.optional import image_from_bytes
from omniinfer.tasks._common import check_text
from omniinfer.tasks._runner import Flow, TaskCall, run_task


def text_to_image(
    ctx: ClientContext,
    prompt: str,
    *,
    negative_prompt: str | None = None,
    height: int | None = None,
    width: int | None = None,
    num_inference_steps: int | None = None,
    guidance_scale: float | None = None,
    model: str | None = None,
    scheduler: str | None = None,
    seed: int | None = None,
    extra_body: dict[str, Any] | None = None,
) -> Flow:
    check_text(prompt, "prompt")
    parameters = {
        "negative_prompt": negative_prompt,
        "height": height,
        "width": width,
        "num_inference_steps": num_inference_steps,
        "guidance_scale": guidance_scale,
        "scheduler": scheduler,
        "seed": seed,
        **(extra_body or {}),  # provider-specific keys travel with the parameters
    }
    call = TaskCall(
        "text-to-image",
        prompt,
        parameters,
        output="bytes",
        accept="image/png",
        argument="prompt",
        parse=image_from_bytes,
    )
    return (yield from run_task(ctx, call, model))
