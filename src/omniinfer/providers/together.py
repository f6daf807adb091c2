"""together: OpenAI-compatible chat, completions and embeddings; images as base64; speech as raw
audio; videos as jobs polled on the submission host."""

from __future__ import annotations

from typing import Any

from omniinfer._core.records import Response
from omniinfer.providers._files import Step, download_at, openai_image, pick, raw_bytes
from omniinfer.providers._jobs import Pending, failed, settle
from omniinfer.providers._payload import input_url, json_body, renamed, target_size_as_width_height
from omniinfer.providers._spec import Prepared, Provider, ProviderCall, native
from omniinfer.providers.openai_style import chat, completions, embeddings, json_object_with_schema
from omniinfer.tasks._common import decode_json

_STEPS_AND_GUIDANCE = {"num_inference_steps": "steps", "guidance_scale": "guidance"}


def _text_to_image(call: ProviderCall) -> Prepared:
    parameters = renamed(call.parameters, _STEPS_AND_GUIDANCE)
    body = {"prompt": call.inputs, "response_format": "base64", **parameters, "model": call.target.model_id}
    return json_body(call, body)


def _image_to_image(call: ProviderCall) -> Prepared:
    parameters = target_size_as_width_height(renamed(call.parameters, _STEPS_AND_GUIDANCE))
    image = input_url(call, "image/jpeg")
    model_id = call.target.model_id or ""
    # FLUX.1 Kontext edits the given image; other models take it as a reference.
    reference = {"image_url": image} if "kontext" in model_id.lower() else {"reference_images": [image]}
    body = {"prompt": parameters.pop("prompt", ""), **reference, "response_format": "base64", **parameters}
    return json_body(call, {**body, "model": model_id})


def _text_to_speech(call: ProviderCall) -> Prepared:
    return json_body(call, {"input": call.inputs, "model": call.target.model_id, **call.parameters})


def _video(call: ProviderCall) -> Prepared:
    parameters = target_size_as_width_height(renamed(call.parameters, {"num_inference_steps": "steps"}))
    body: dict[str, Any] = {"model": call.target.model_id}
    if call.task == "image-to-video":
        body["frame_images"] = [{"input_image": input_url(call, "image/jpeg"), "frame": "first"}]
    else:
        body["prompt"] = call.inputs
    return json_body(call, {**body, **parameters})


def _video_job(call: ProviderCall, response: Response) -> Step:
    def check(job: Any, answer: Response) -> Any:
        status = job.get("status") if isinstance(job, dict) else None
        if status == "completed":
            return download_at(call, job, ("outputs", "video_url"), answer)
        if status == "failed":
            raise failed(call, answer, job.get("error") or job.get("info") or "no reason given")
        return Pending(status)

    data = decode_json(response, call.target.provider_id)
    url = f"{call.target.url()}/{pick(data, ('id',), call, response)}"
    return (yield from settle(call, data, response, check, url, interval=2.0, authenticated=True))


_IMAGES = "/v1/images/generations"

TOGETHER = Provider(
    "together",
    "https://api.together.xyz",
    {
        "conversational": chat(hook=json_object_with_schema),
        "text-generation": completions(),
        "feature-extraction": embeddings(),
        "text-to-image": native(_IMAGES, _text_to_image, openai_image),
        "image-to-image": native(_IMAGES, _image_to_image, openai_image),
        "text-to-speech": native("/v1/audio/speech", _text_to_speech, raw_bytes),
        "text-to-video": native("/v2/videos", _video, _video_job),
        "image-to-video": native("/v2/videos", _video, _video_job),
    },
)
