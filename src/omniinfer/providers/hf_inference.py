"""hf-inference: the Hugging Face serverless API, reachable through the router only. It serves Hub
ids as they are (a task check instead of a mapping) with the Hugging Face task bodies."""

from __future__ import annotations

from omniinfer.providers._spec import Provider, TaskRoute
from omniinfer.providers.openai_style import json_object_with_value

_MODEL = "/models/{model}"

HF_INFERENCE = Provider(
    "hf-inference",
    None,
    {
        "conversational": TaskRoute(_MODEL + "/v1/chat/completions", json_object_with_value, "chat"),
        "text-generation": TaskRoute(_MODEL, None, "tgi"),
        "text-to-image": TaskRoute(_MODEL, protocol="hf"),
    },
    token_required=False,
    uses_hub_mapping=False,
    checks_hub_task=True,
)
