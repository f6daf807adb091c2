"""Generated media: image-to-image, text-to-video, image-to-video (text_to_image has its own module).

Images come back as `PIL.Image.Image`, videos as the raw bytes (usually MP4).
"""

from __future__ import annotations

from typing import Any

from omniinfer._core.context import ClientContext
from omniinfer._core.inputs import BinaryInput
from omniinfer._core.optional import image_from_bytes
from omniinfer.tasks._common import check_text
from omniinfer.tasks._runner import Flow, TaskCall, run_task


def check_size(target_size: Any) -> dict[str, int] | None:
    """`target_size` is `{"width": w, "height": h}` (or an ImageToImageTargetSize, which is that dict)."""
    if target_size is None:
        return None
    if not isinstance(target_size, dict) or not all(
        isinstance(target_size.get(side), int) and target_size[side] > 0 for side in ("width", "height")
    ):
        raise ValueError("`target_size` must be {'width': int, 'height': int} with positive sizes")
    return {"width": target_size["width"], "height": target_size["height"]}


def image_to_image(
    ctx: ClientContext,
    image: BinaryInput,
    prompt: str | None = None,
    *,
    negative_prompt: str | None = None,
    num_inference_steps: int | None = None,
    guidance_scale: float | None = None,
    model: str | None = None,
    target_size: Any = None,
    kwargs: dict[str, Any] | None = None,
) -> Flow:
    if prompt is not None:
        check_text(prompt, "prompt")
    parameters = {
        "prompt": prompt,
        "negative_prompt": negative_prompt,
        "target_size": check_size(target_size),
        "num_inference_steps": num_inference_steps,
        "guidance_scale": guidance_scale,
        **(kwargs or {}),  # model-specific parameters, sent with the others
    }
    call = TaskCall(
        "image-to-image",
        image,
        parameters,
        binary=True,
        output="bytes",
        accept="image/png",
        argument="image",
        parse=image_from_bytes,
    )
    return (yield from run_task(ctx, call, model))


def text_to_video(
    ctx: ClientContext,
    prompt: str,
    *,
    model: str | None = None,
    guidance_scale: float | None = None,
    negative_prompt: list[str] | None = None,
    num_frames: float | None = None,
    num_inference_steps: int | None = None,
    seed: int | None = None,
    extra_body: dict[str, Any] | None = None,
) -> Flow:
    check_text(prompt, "prompt")
    parameters = {
        "guidance_scale": guidance_scale,
        "negative_prompt": negative_prompt,
        "num_frames": num_frames,
        "num_inference_steps": num_inference_steps,
        "seed": seed,
        **(extra_body or {}),
    }
    call = TaskCall("text-to-video", prompt, parameters, output="bytes", argument="prompt")
    return (yield from run_task(ctx, call, model))


def image_to_video(
    ctx: ClientContext,
    image: BinaryInput,
    *,
    model: str | None = None,
    prompt: str | None = None,
    negative_prompt: str | None = None,
    num_frames: float | None = None,
    num_inference_steps: int | None = None,
    guidance_scale: float | None = None,
    seed: int | None = None,
    target_size: Any = None,
    kwargs: dict[str, Any] | None = None,
) -> Flow:
    if prompt is not None:
        check_text(prompt, "prompt")
    parameters = {
        "prompt": prompt,
        "negative_prompt": negative_prompt,
        "num_frames": num_frames,
        "num_inference_steps": num_inference_steps,
        "guidance_scale": guidance_scale,
        "seed": seed,
        "target_size": check_size(target_size),
        **(kwargs or {}),
    }
    call = TaskCall("image-to-video", image, parameters, binary=True, output="bytes", argument="image")
    return (yield from run_task(ctx, call, model))
