"""nscale: OpenAI-compatible chat and image generation (sizes as "WxH")."""

from __future__ import annotations

from omniinfer.providers._files import openai_image
from omniinfer.providers._payload import json_body, pop_size, renamed
from omniinfer.providers._spec import Prepared, Provider, ProviderCall, native
from omniinfer.providers.openai_style import chat


def _text_to_image(call: ProviderCall) -> Prepared:
    parameters = renamed(call.parameters, {"num_inference_steps": None, "cfg_scale": None})
    size = pop_size(parameters)
    if size is not None:
        parameters["size"] = f"{size[0]}x{size[1]}"
    body = {"response_format": "b64_json", "prompt": call.inputs, "model": call.target.model_id, **parameters}
    return json_body(call, body)


NSCALE = Provider(
    "nscale",
    "https://inference.api.nscale.com",
    {
        "conversational": chat(),
        "text-to-image": native("/v1/images/generations", _text_to_image, openai_image),
    },
)
