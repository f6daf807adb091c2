"""nebius: OpenAI-compatible chat, completions and embeddings, and OpenAI-style image generation."""

from __future__ import annotations

from omniinfer.providers._files import openai_image
from omniinfer.providers._payload import json_body, renamed
from omniinfer.providers._spec import Prepared, Provider, ProviderCall, native
from omniinfer.providers.openai_style import chat, completions, embeddings, guided_json


def _text_to_image(call: ProviderCall) -> Prepared:
    parameters = renamed(call.parameters, {"guidance_scale": None})  # not accepted by the route
    if parameters.get("response_format") not in ("b64_json", "url"):
        parameters["response_format"] = "b64_json"
    return json_body(call, {"prompt": call.inputs, **parameters, "model": call.target.model_id})


NEBIUS = Provider(
    "nebius",
    "https://api.studio.nebius.ai",
    {
        "conversational": chat(hook=guided_json),
        "text-generation": completions(),
        "feature-extraction": embeddings(with_parameters=False),  # the route takes no parameters
        "text-to-image": native("/v1/images/generations", _text_to_image, openai_image),
    },
)
