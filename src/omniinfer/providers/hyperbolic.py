"""hyperbolic: OpenAI-compatible chat (also used for text generation) and its own image route."""

from __future__ import annotations

from omniinfer.providers._files import b64_at
from omniinfer.providers._payload import json_body, renamed
from omniinfer.providers._spec import Prepared, Provider, ProviderCall, native
from omniinfer.providers.openai_style import chat, completions, prompt_as_messages


def _text_to_image(call: ProviderCall) -> Prepared:
    parameters = renamed(call.parameters, {"num_inference_steps": "steps", "guidance_scale": "cfg_scale"})
    parameters.setdefault("width", 512)  # the route has no default size
    parameters.setdefault("height", 512)
    return json_body(call, {"prompt": call.inputs, "model_name": call.target.model_id, **parameters})


HYPERBOLIC = Provider(
    "hyperbolic",
    "https://api.hyperbolic.xyz",
    {
        "conversational": chat(),
        # hyperbolic serves its models through the chat route only.
        "text-generation": completions("/v1/chat/completions", prompt_as_messages),
        "text-to-image": native("/v1/images/generations", _text_to_image, b64_at("images", 0, "image")),
    },
)
